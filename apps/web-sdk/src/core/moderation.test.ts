import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakePeerConnection, FakeServer, FakeTrack, fakeStream, resetFakes } from '../test-utils/fakes.js';
import { Room } from './room.js';
import type { RemovedInfo, WaitingParticipant } from './types.js';

let server: FakeServer;
let room: Room;
beforeEach(() => {
  resetFakes();
  server = new FakeServer();
});
afterEach(() => room?.disconnect());

function makeRoom(extra: Partial<ConstructorParameters<typeof Room>[0]> = {}) {
  return new Room({ url: 'http://arbiter.test/rooms/r', name: 'Ada', environment: server.environment(), ...extra });
}

const channel = () => FakePeerConnection.all[0]!.channels[0]!;

describe('grants and roles', () => {
  it('joins a viewer grant receiving only: nothing published, the camera let go, unmuting refused', async () => {
    server.grants = ['subscribe'];
    const made: FakeTrack[] = [];
    const getUserMedia = async (c: MediaStreamConstraints) => {
      const tracks = [c.audio && new FakeTrack('audio'), c.video && new FakeTrack('video')].filter(Boolean) as FakeTrack[];
      made.push(...tracks);
      return fakeStream(tracks);
    };
    room = new Room({ url: 'http://arbiter.test/rooms/r', token: 'viewer', environment: server.environment(getUserMedia) });
    await room.connect();
    expect(room.moderation.canPublish).toBe(false);
    // a data channel only: no media sections, which the SFU would refuse
    expect(FakePeerConnection.all[0]!.transceivers).toEqual([]);
    const offer = server.socket.messages().find((m) => m.action === 'handshake');
    expect(offer).toMatchObject({ connection: 'producer', tracks: [] });
    expect(made.map((x) => x.readyState)).toEqual(['ended', 'ended']); // no camera light
    expect(room.localParticipant).toMatchObject({ audioTrack: null, videoTrack: null, audioEnabled: false });
    expect(room.mediaProblems).toEqual([]);
    await expect(room.setCameraEnabled(true)).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('joins with the grant the app minted and knows it moderates', async () => {
    server.grants = ['publish', 'subscribe', 'data', 'screen', 'moderator'];
    room = makeRoom({ token: 'grant-from-the-app' });
    await room.connect();
    expect(server.joins[0]!.body).toEqual({ name: 'Ada', grant: 'grant-from-the-app' });
    expect(room.moderation.isModerator).toBe(true);
    room.moderation.remove('p_bot', 'spam');
    room.moderation.mute('p_bot', 'video');
    room.moderation.endRoom();
    const sent = server.socket.messages().filter((m) => m.action === 'moderate');
    expect(sent).toEqual([
      { action: 'moderate', op: 'remove', participant_id: 'p_bot', kind: null, muted: true, reason: 'spam' },
      { action: 'moderate', op: 'mute', participant_id: 'p_bot', kind: 'video', muted: true, reason: null },
      { action: 'moderate', op: 'end_room', participant_id: null, kind: null, muted: true, reason: null },
    ]);
  });

  it('sees another participant removed, and who did it', async () => {
    server.existing = [{ id: 'p_bot', name: 'bot' }];
    room = makeRoom();
    await room.connect();
    const removed: [string, string | null][] = [];
    const left: [string, string][] = [];
    room.on('participantRemoved', (p, by) => removed.push([p.name, by]));
    room.on('participantLeft', (p, reason) => left.push([p.name, reason]));
    server.socket.deliver({ action: 'participant_left', participant_id: 'p_bot', reason: 'removed', by: 'p_mod' });
    expect(removed).toEqual([['bot', 'p_mod']]);
    expect(left).toEqual([['bot', 'removed']]);
  });

  it('ends in the removed state with the reason and who did it', async () => {
    room = makeRoom();
    await room.connect();
    const infos: RemovedInfo[] = [];
    const lefts: string[] = [];
    room.on('removed', (info) => infos.push(info));
    room.on('left', (reason) => lefts.push(reason));
    server.socket.deliver({ action: 'removed', reason: 'removed', by: 'app', message: 'closing time' });
    expect(room.connectionState).toBe('removed');
    expect(infos).toEqual([{ reason: 'removed', by: 'app', message: 'closing time' }]);
    expect(room.moderation.removed).toEqual(infos[0]);
    expect(lefts).toEqual(['removed']);
    expect(server.socket.closed).toBe(true);
  });

  it('shows a held-muted participant and holds its own track when a moderator mutes it', async () => {
    server.existing = [{ id: 'p_bot', name: 'bot' }];
    room = makeRoom();
    await room.connect();
    channel().deliver({ action: 'track_state', kind: 'audio', muted: true, sender: 'p_bot', by: 'p_mod' });
    expect(room.getParticipant('p_bot')).toMatchObject({ audioEnabled: false, audioLockedBy: 'p_mod' });
    // this browser's own microphone, held by the app
    const local = room.localParticipant!;
    channel().deliver({ action: 'track_state', kind: 'audio', muted: true, sender: local.id, by: 'app' });
    expect(room.localParticipant).toMatchObject({ audioEnabled: false, audioLockedBy: 'app' });
    expect(room.localParticipant!.audioTrack!.enabled).toBe(false);
    await expect(room.setMicrophoneEnabled(true)).rejects.toMatchObject({ code: 'forbidden' });
    // let go: still muted, but it may unmute itself again
    channel().deliver({ action: 'track_state', kind: 'audio', muted: true, sender: local.id });
    expect(room.localParticipant).toMatchObject({ audioLockedBy: null });
    await expect(room.setMicrophoneEnabled(true)).resolves.toBe(true);
  });
});

describe('the lobby', () => {
  it('waits in the lobby until admitted, then connects', async () => {
    server.lobby = true;
    room = makeRoom();
    const states: string[] = [];
    room.on('connectionStateChanged', (s) => states.push(s));
    const connected = room.connect();
    await vi.waitFor(() => expect(room.connectionState).toBe('waiting'));
    expect(FakePeerConnection.all).toHaveLength(0);
    server.lobby = false;
    server.socket.deliver({ action: 'identified', room_id: 'r', role: 'participant', sfu_ready: true, participant_id: 'p_local1' });
    await connected;
    expect(states).toEqual(['connecting', 'waiting', 'connecting', 'connected']);
  });

  it('keeps its socket alive while it waits, past the idle timeout', async () => {
    server.lobby = true;
    server.idleTimeout = 3;
    vi.useFakeTimers({ shouldAdvanceTime: true });
    room = makeRoom();
    const connected = room.connect();
    await vi.waitFor(() => expect(room.connectionState).toBe('waiting'));
    await vi.advanceTimersByTimeAsync(9000); // three idle timeouts in the lobby
    const keepalives = server.socket.messages().filter((m) => m.action === 'keepalive');
    expect(keepalives.length).toBeGreaterThanOrEqual(8); // one a second (a third of 3 s)
    expect(room.connectionState).toBe('waiting');
    server.lobby = false;
    server.socket.deliver({ action: 'identified', room_id: 'r', role: 'participant', sfu_ready: true, participant_id: 'p_local1' });
    await connected;
    vi.useRealTimers();
  });

  it('renews its refresh credential while it waits', async () => {
    server.lobby = true;
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const now = Math.floor(Date.now() / 1000);
    const original = server.fetch.getMockImplementation()!;
    server.fetch.mockImplementation(async (url: string, init?: RequestInit) => {
      const body = await (await original(url, init)).json();
      return new Response(JSON.stringify({ ...body, refresh_expires_at: now + 100 }), { status: 200 });
    });
    room = makeRoom();
    const connected = room.connect();
    await vi.waitFor(() => expect(room.connectionState).toBe('waiting'));
    await vi.advanceTimersByTimeAsync(51_000); // half of the credential's life
    expect(server.socket.messages().filter((m) => m.action === 'refresh')).toEqual([
      { action: 'refresh', refresh_token: 'p_local1.cmVmcmVzaA' },
    ]);
    server.lobby = false;
    server.socket.deliver({ action: 'identified', room_id: 'r', role: 'participant', sfu_ready: true, participant_id: 'p_local1' });
    await connected;
    vi.useRealTimers();
  });

  it('ends as denied when a moderator refuses it', async () => {
    server.lobby = true;
    room = makeRoom();
    const connected = room.connect();
    await vi.waitFor(() => expect(room.connectionState).toBe('waiting'));
    server.socket.deliver({ action: 'removed', reason: 'denied', by: 'p_mod' });
    await expect(connected).rejects.toMatchObject({ code: 'denied' });
    expect(room.connectionState).toBe('removed');
    expect(room.moderation.removed).toEqual({ reason: 'denied', by: 'p_mod', message: null });
  });

  it('shows moderators who waits and answers them', async () => {
    server.grants = ['publish', 'subscribe', 'data', 'moderator'];
    room = makeRoom({ token: 'g' });
    await room.connect();
    const seen: (readonly WaitingParticipant[])[] = [];
    room.on('lobbyChanged', (w) => seen.push(w));
    server.socket.deliver({ action: 'lobby', waiting: [{ id: 'p_w', name: 'Walk-in', identity: 'u-9' }] });
    expect(room.moderation.waiting).toEqual([{ id: 'p_w', name: 'Walk-in', identity: 'u-9', metadata: null }]);
    expect(seen).toHaveLength(1);
    room.moderation.admit('p_w');
    room.moderation.deny('p_w', 'full');
    expect(server.socket.messages().filter((m) => m.action === 'moderate').map((m) => [m.op, m.participant_id])).toEqual([
      ['admit', 'p_w'],
      ['deny', 'p_w'],
    ]);
  });
});
