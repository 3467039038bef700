import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakePeerConnection, FakeServer, fakeSdp, resetFakes } from '../test-utils/fakes.js';
import { ArbiterRoom } from './ArbiterRoom.js';

let server: FakeServer;
const URL = 'http://arbiter.test/rooms/standup';
const channel = () => FakePeerConnection.all[0]!.channels[0]!;

/** jsdom has no layout: a ResizeObserver that says every element is `size`. */
function stubLayout(size: { width: number; height: number }): void {
  class Observer {
    constructor(private readonly callback: ResizeObserverCallback) {}
    observe(): void {
      queueMicrotask(() => this.callback([{ contentRect: size } as ResizeObserverEntry], this as never));
    }
    disconnect(): void {}
  }
  vi.stubGlobal('ResizeObserver', Observer);
}

beforeEach(() => {
  resetFakes();
  server = new FakeServer();
});
afterEach(() => vi.unstubAllGlobals());

async function joined(existing: { id: string; name: string }[]): Promise<void> {
  server.existing = existing;
  render(<ArbiterRoom url={URL} name="Ada" environment={server.environment()} />);
  await waitFor(() => expect(document.querySelector('.arb-conference[data-state="connected"]')).not.toBeNull());
}

function cameraWishes(): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const m of channel().messages()) {
    if (m.action === 'subscription' && m.track_id === 'camera') out[m.producer_id] = m.video;
  }
  return out;
}

describe('the paged grid', () => {
  it('shows a page of what fits, pages on, and receives only the video on the page', async () => {
    stubLayout({ width: 760, height: 340 }); // 3 x 2 tiles of 240 px (with the page controls)
    const user = userEvent.setup();
    await joined(Array.from({ length: 8 }, (_, i) => ({ id: `p_${i}`, name: `bot${i}` })));
    const grid = document.querySelector('.arb-paged')!;
    await waitFor(() => expect(grid).toHaveAttribute('data-page-size', '6'));
    const names = () => [...grid.querySelectorAll('.arb-grid [data-participant-name]')].map((t) => t.getAttribute('data-participant-name'));
    expect(names()).toEqual(['bot0', 'bot1', 'bot2', 'bot3', 'bot4', 'bot5']);
    expect(screen.getByRole('status', { name: '' })).toHaveTextContent('Page 1 of 2');
    await waitFor(() =>
      expect(cameraWishes()).toMatchObject({ p_0: true, p_5: true, p_6: false, p_7: false }),
    );
    await user.click(screen.getByRole('button', { name: 'Next page' }));
    expect(names()).toEqual(['bot6', 'bot7']);
    await waitFor(() => expect(cameraWishes()).toMatchObject({ p_0: false, p_5: false, p_6: true, p_7: true }));
    // an active speaker of another page: its tile beside the page, its video received
    act(() => channel().deliver({ action: 'active_speakers', speakers: ['p_2'] }));
    const speaking = await screen.findByRole('group', { name: 'bot2, speaking' });
    expect(speaking).toHaveAttribute('data-speaking', 'true');
    await waitFor(() => expect(cameraWishes()).toMatchObject({ p_2: true, p_0: false }));
  });
});

describe('the focus layout', () => {
  it('shows a shared screen large with the cameras beside it, and the grid again when it stops', async () => {
    stubLayout({ width: 900, height: 600 });
    await joined([{ id: 'p_bot', name: 'bot' }]);
    server.socket.deliver({
      action: 'handshake',
      connection: 'consumer',
      sdp: { type: 'offer', sdp: fakeSdp('sfu offer', ['video', 'video']) },
      tracks: [
        { id: 'camera', kind: 'video', source: 'camera', mid: '0', participant_id: 'p_bot' },
        { id: 'screen', kind: 'video', source: 'screen', mid: '1', participant_id: 'p_bot' },
      ],
    });
    const presented = await screen.findByRole('group', { name: "bot's screen" });
    expect(document.querySelector('.arb-conference')).toHaveAttribute('data-layout', 'focus');
    expect(within(presented).getByText('bot is presenting')).toBeInTheDocument();
    const strip = screen.getByRole('complementary', { name: 'Participants' });
    expect(within(strip).getByRole('group', { name: 'bot' })).toBeInTheDocument();
    server.socket.deliver({
      action: 'handshake',
      connection: 'consumer',
      sdp: { type: 'offer', sdp: fakeSdp('sfu offer 2', ['video', 'video']) },
      tracks: [{ id: 'camera', kind: 'video', source: 'camera', mid: '0', participant_id: 'p_bot' }],
    });
    await waitFor(() => expect(document.querySelector('.arb-conference')).toHaveAttribute('data-layout', 'grid'));
  });
});

describe('the control bar', () => {
  it('shares the screen, raises the hand and switches devices mid-call', async () => {
    const user = userEvent.setup();
    vi.stubGlobal('navigator', {
      ...navigator,
      mediaDevices: {
        enumerateDevices: async () => [
          { kind: 'videoinput', deviceId: 'cam-1', label: 'Front camera' },
          { kind: 'videoinput', deviceId: 'cam-2', label: 'Back camera' },
          { kind: 'audiooutput', deviceId: 'spk-1', label: 'Headphones' },
        ],
        addEventListener: () => undefined,
        removeEventListener: () => undefined,
      },
    });
    await joined([{ id: 'p_bot', name: 'bot' }]);
    const controls = screen.getByRole('toolbar', { name: 'Room controls' });
    const share = within(controls).getByRole('button', { name: 'Share screen' });
    await user.click(share);
    await waitFor(() => expect(share).toHaveAttribute('aria-pressed', 'true'));
    expect(await screen.findByRole('group', { name: 'Your screen' })).toBeInTheDocument();
    expect(FakePeerConnection.all[0]!.transceivers).toHaveLength(3);

    await user.click(within(controls).getByRole('button', { name: 'Raise hand' }));
    expect(server.socket.messages().at(-1)).toEqual({ action: 'update_participant', hand_raised: true, name: null });
    act(() =>
      server.socket.deliver({ action: 'participant_updated', participant: { id: 'p_local1', name: 'Ada', hand_raised: true } }),
    );
    expect(within(controls).getByRole('button', { name: 'Lower hand' })).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getAllByRole('img', { name: 'hand raised' })).toHaveLength(1);

    await user.click(within(controls).getByRole('button', { name: 'Devices' }));
    const camera = await screen.findByLabelText('Camera');
    await waitFor(() => expect(within(camera).getAllByRole('option').map((o) => o.textContent)).toContain('Back camera'));
    await user.selectOptions(camera, 'cam-2');
    const video = FakePeerConnection.all[0]!.transceivers[1]!;
    await waitFor(() => expect(video.sender.replaceTrack).toHaveBeenCalled());
    expect(FakePeerConnection.all).toHaveLength(1);
  });

  it('plays remote audio on the chosen speaker', async () => {
    const user = userEvent.setup();
    const sinks: string[] = [];
    Object.defineProperty(HTMLMediaElement.prototype, 'setSinkId', {
      value: async (id: string) => {
        sinks.push(id);
      },
      configurable: true,
    });
    vi.stubGlobal('navigator', {
      ...navigator,
      mediaDevices: {
        enumerateDevices: async () => [{ kind: 'audiooutput', deviceId: 'spk-1', label: 'Headphones' }],
        addEventListener: () => undefined,
        removeEventListener: () => undefined,
      },
    });
    try {
      await joined([{ id: 'p_bot', name: 'bot' }]);
      server.socket.deliver({
        action: 'handshake',
        connection: 'consumer',
        sdp: { type: 'offer', sdp: fakeSdp('sfu offer', ['audio']) },
        tracks: [{ id: 'microphone', kind: 'audio', source: 'microphone', mid: '0', participant_id: 'p_bot' }],
      });
      await waitFor(() => expect(document.querySelectorAll('audio')).toHaveLength(1));
      await user.click(screen.getByRole('button', { name: 'Devices' }));
      const speaker = await screen.findByLabelText('Speaker');
      await waitFor(() => expect(within(speaker).getAllByRole('option').map((o) => o.textContent)).toContain('Headphones'));
      await user.selectOptions(speaker, 'spk-1');
      await waitFor(() => expect(sinks).toEqual(['spk-1']));
    } finally {
      delete (HTMLMediaElement.prototype as { setSinkId?: unknown }).setSinkId;
    }
  });
});
