import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakePeerConnection, FakeServer, resetFakes } from '../test-utils/fakes.js';
import { ArbiterRoom } from './ArbiterRoom.js';

let server: FakeServer;
beforeEach(() => {
  resetFakes();
  server = new FakeServer();
  server.existing = [{ id: 'p_bot', name: 'bot' }];
});

const URL = 'http://arbiter.test/rooms/clinic';

async function whenConnected(): Promise<void> {
  await waitFor(() => expect(document.querySelector('.arb-conference[data-state="connected"]')).not.toBeNull());
}

const moderations = () => server.socket.messages().filter((m) => m.action === 'moderate');

describe('<ArbiterRoom> with roles', () => {
  it('joins with a token (no pre-join screen) and gives a moderator its controls', async () => {
    const user = userEvent.setup();
    server.grants = ['publish', 'subscribe', 'data', 'screen', 'moderator'];
    render(<ArbiterRoom url={URL} token="grant" environment={server.environment()} />);
    await whenConnected();
    expect(server.joins[0]!.body).toEqual({ name: 'guest', grant: 'grant' });
    const bot = screen.getByRole('group', { name: 'bot' });
    await user.click(within(bot).getByRole('button', { name: 'Mute microphone' }));
    await user.click(within(bot).getByRole('button', { name: 'Remove' }));
    await user.click(screen.getByRole('button', { name: 'End for all' }));
    expect(moderations().map((m) => [m.op, m.participant_id, m.kind])).toEqual([
      ['mute', 'p_bot', 'audio'],
      ['remove', 'p_bot', null],
      ['end_room', null, null],
    ]);
    // the lobby: who waits, with Admit and Deny
    act(() => server.socket.deliver({ action: 'lobby', waiting: [{ id: 'p_w', name: 'Walk-in' }] }));
    const lobby = await screen.findByRole('region', { name: 'Lobby' });
    await user.click(within(lobby).getByRole('button', { name: 'Admit Walk-in' }));
    expect(moderations().at(-1)).toMatchObject({ op: 'admit', participant_id: 'p_w' });
    act(() => server.socket.deliver({ action: 'lobby', waiting: [] }));
    await waitFor(() => expect(screen.queryByRole('region', { name: 'Lobby' })).toBeNull());
  });

  it('gives others no moderation controls, and shows a participant held muted, then removed', async () => {
    render(<ArbiterRoom url={URL} name="Ada" environment={server.environment()} />);
    await whenConnected();
    const bot = screen.getByRole('group', { name: 'bot' });
    expect(within(bot).queryByRole('button', { name: 'Remove' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'End for all' })).toBeNull();
    act(() =>
      FakePeerConnection.all[0]!.channels[0]!.deliver({
        action: 'track_state',
        kind: 'audio',
        muted: true,
        sender: 'p_bot',
        by: 'p_mod',
      }),
    );
    expect(await within(bot).findByRole('img', { name: 'microphone held muted by a moderator' })).toBeInTheDocument();
    // then removed: its tile goes, and everyone is told who did it
    act(() => server.socket.deliver({ action: 'participant_left', participant_id: 'p_bot', reason: 'removed', by: 'p_mod' }));
    expect(await screen.findByText('bot was removed by a moderator')).toHaveAttribute('role', 'status');
    expect(screen.queryByRole('group', { name: 'bot' })).toBeNull();
  });

  it('disables the microphone button while a moderator holds it muted', async () => {
    render(<ArbiterRoom url={URL} name="Ada" environment={server.environment()} />);
    await whenConnected();
    const mic = screen.getByRole('button', { name: 'Microphone' });
    expect(mic).toBeEnabled();
    const hold = (by: string | null) =>
      act(() =>
        FakePeerConnection.all[0]!.channels[0]!.deliver({ action: 'track_state', kind: 'audio', muted: true, sender: 'p_local1', by }),
      );
    hold('p_mod');
    await waitFor(() => expect(mic).toBeDisabled());
    expect(screen.getByRole('button', { name: 'Camera' })).toBeEnabled();
    hold(null); // let go: the participant may turn it on again
    await waitFor(() => expect(mic).toBeEnabled());
  });

  it('disables both media buttons for a viewer grant', async () => {
    server.grants = ['subscribe'];
    render(<ArbiterRoom url={URL} token="viewer" environment={server.environment()} />);
    await whenConnected();
    expect(screen.getByRole('button', { name: 'Microphone' })).toBeDisabled();
    expect(screen.getByRole('button', { name: 'Camera' })).toBeDisabled();
  });

  it('says so when this participant is removed, and when it waits in the lobby', async () => {
    render(<ArbiterRoom url={URL} name="Ada" environment={server.environment()} />);
    await whenConnected();
    act(() => server.socket.deliver({ action: 'removed', reason: 'removed', by: 'p_mod', message: 'spam' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('You were removed from the room. (spam)');
  });

  it('shows the waiting state in a lobby', async () => {
    server.lobby = true;
    render(<ArbiterRoom url={URL} name="Ada" environment={server.environment()} />);
    expect(await screen.findByText('Waiting for a moderator to let you in…')).toBeInTheDocument();
    act(() => server.socket.deliver({ action: 'removed', reason: 'denied', by: 'p_mod' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('A moderator did not let you in.');
  });
});
