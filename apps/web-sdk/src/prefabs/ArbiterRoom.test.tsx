import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StrictMode } from 'react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FakePeerConnection, FakeServer, refusingGetUserMedia, resetFakes } from '../test-utils/fakes.js';
import { ArbiterRoom } from './ArbiterRoom.js';

let server: FakeServer;
beforeEach(() => {
  resetFakes();
  server = new FakeServer();
  server.existing = [{ id: 'p_bot', name: 'bot' }];
});

const URL = 'http://arbiter.test/rooms/standup';

/** Wait until the room UI says it is connected (joined, producer answered, channel open). */
async function whenConnected(): Promise<void> {
  await waitFor(() => expect(document.querySelector('.arb-conference[data-state="connected"]')).not.toBeNull());
}

describe('<ArbiterRoom>', () => {
  it('shows a pre-join screen without a name, and joins with the typed name on Join', async () => {
    const user = userEvent.setup();
    const onJoined = vi.fn();
    render(
      <StrictMode>
        <ArbiterRoom url={URL} environment={server.environment()} onJoined={onJoined} />
      </StrictMode>,
    );
    expect(screen.getByRole('heading', { name: 'Join standup' })).toBeInTheDocument();
    const join = screen.getByRole('button', { name: 'Join' });
    expect(join).toBeDisabled();
    expect(server.fetch).not.toHaveBeenCalled();
    await user.type(screen.getByLabelText('Name'), 'Ada');
    await user.click(join);
    await whenConnected();
    expect(screen.getByRole('group', { name: 'Ada (you)' })).toBeInTheDocument();
    expect(screen.getByRole('group', { name: 'bot' })).toBeInTheDocument();
    expect(server.joins).toEqual([{ url: `${URL}/join`, body: { name: 'Ada' } }]);
    expect(onJoined).toHaveBeenCalledWith({ roomId: 'r', participantId: 'p_local1' });
  });

  it('joins at once with a name, and shows controls and the chat', async () => {
    render(<ArbiterRoom url={URL} name="Ada" environment={server.environment()} />);
    expect(await screen.findByRole('group', { name: 'Ada (you)' })).toBeInTheDocument();
    const controls = screen.getByRole('toolbar', { name: 'Room controls' });
    expect(within(controls).getByRole('button', { name: 'Microphone' })).toHaveAttribute('aria-pressed', 'true');
    expect(within(controls).getByRole('button', { name: 'Camera' })).toHaveAttribute('aria-pressed', 'true');
    expect(within(controls).getByRole('button', { name: 'Leave' })).toBeEnabled();
    expect(screen.getByRole('log', { name: 'Chat messages' })).toBeInTheDocument();
  });

  it('toggles the microphone: aria-pressed, the tile mute icon and a track_state message', async () => {
    const user = userEvent.setup();
    render(<ArbiterRoom url={URL} name="Ada" environment={server.environment()} />);
    await whenConnected();
    const mic = screen.getByRole('button', { name: 'Microphone' });
    const tile = screen.getByRole('group', { name: 'Ada (you)' });
    expect(within(tile).queryByRole('img', { name: 'microphone off' })).toBeNull();
    await user.click(mic);
    expect(mic).toHaveAttribute('aria-pressed', 'false');
    expect(within(tile).getByRole('img', { name: 'microphone off' })).toBeInTheDocument();
    const channel = FakePeerConnection.all[0]!.channels[0]!;
    expect(channel.messages().at(-1)).toEqual({ action: 'track_state', kind: 'audio', muted: true, sender: null, track_id: null, by: null });
  });

  it('shows a remote participant as muted after its track_state', async () => {
    render(<ArbiterRoom url={URL} name="Ada" environment={server.environment()} />);
    await whenConnected();
    const tile = screen.getByRole('group', { name: 'bot' });
    act(() =>
      FakePeerConnection.all[0]!.channels[0]!.deliver({ action: 'track_state', kind: 'audio', muted: true, sender: 'p_bot' }),
    );
    expect(within(tile).getByRole('img', { name: 'microphone off' })).toBeInTheDocument();
    expect(tile).toHaveAttribute('data-muted', 'true');
  });

  it('tells the user clearly when camera and microphone permission is refused', async () => {
    const onError = vi.fn();
    render(
      <ArbiterRoom url={URL} name="Ada" environment={server.environment(refusingGetUserMedia('both'))} onError={onError} />,
    );
    await whenConnected();
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent(/Camera and microphone permission was refused/);
    expect(alert).toHaveTextContent(/site settings/);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'permission_denied' }));
    // still in the room, seeing others
    expect(screen.getByRole('group', { name: 'bot' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Microphone' })).toHaveAttribute('aria-pressed', 'false');
  });

  it('sends a chat message from the form and shows it in the log', async () => {
    const user = userEvent.setup();
    render(<ArbiterRoom url={URL} name="Ada" environment={server.environment()} />);
    await whenConnected();
    const input = screen.getByRole('textbox', { name: 'Message' });
    await user.type(input, 'hello there');
    await user.click(screen.getByRole('button', { name: 'Send' }));
    const log = screen.getByRole('log', { name: 'Chat messages' });
    expect(within(log).getByText('hello there')).toBeInTheDocument();
    expect(input).toHaveValue('');
    const data = FakePeerConnection.all[0]!.channels[0]!.messages().filter((m) => m.action === 'data');
    expect(data).toEqual([expect.objectContaining({ data: 'hello there', topic: 'chat' })]);
  });

  it('leaves with the Leave button, calls onLeft and offers to rejoin', async () => {
    const user = userEvent.setup();
    const onLeft = vi.fn();
    render(<ArbiterRoom url={URL} name="Ada" environment={server.environment()} onLeft={onLeft} />);
    await whenConnected();
    await user.click(screen.getByRole('button', { name: 'Leave' }));
    expect(await screen.findByText('You left the room.')).toBeInTheDocument();
    expect(onLeft).toHaveBeenCalledWith('left');
    expect(server.socket.messages().at(-1)).toEqual({ action: 'leave' });
    await user.click(screen.getByRole('button', { name: 'Rejoin' }));
    await whenConnected();
    expect(screen.getByRole('group', { name: 'Ada (you)' })).toBeInTheDocument();
    expect(server.fetch).toHaveBeenCalledTimes(2);
  });

  it('shows why joining failed', async () => {
    server.joinStatus = 404;
    const onError = vi.fn();
    render(<ArbiterRoom url={URL} name="Ada" environment={server.environment()} onError={onError} />);
    expect(await screen.findByRole('alert')).toHaveTextContent("no room 'r'");
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'room_not_found' }));
  });

  it('uses renderParticipant for custom tiles', async () => {
    render(
      <ArbiterRoom
        url={URL}
        name="Ada"
        environment={server.environment()}
        renderParticipant={(p) => <div data-testid="custom">{p.name.toUpperCase()}</div>}
      />,
    );
    await whenConnected();
    // the others in the layout, your own camera small in the corner after it
    expect(screen.getAllByTestId('custom').map((t) => t.textContent)).toEqual(['BOT', 'ADA']);
    expect(screen.queryByRole('group', { name: 'bot' })).toBeNull();
  });

  it('leaves when unmounted', async () => {
    const { unmount } = render(<ArbiterRoom url={URL} name="Ada" environment={server.environment()} />);
    await whenConnected();
    unmount();
    expect(server.socket.closed).toBe(true);
    expect(FakePeerConnection.all[0]!.closed).toBe(true);
  });
});
