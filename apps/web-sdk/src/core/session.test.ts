/**
 * The session across sockets: keepalive, refresh, resume after a dropped socket (with
 * what was missed meanwhile), session_expired, and a new SFU mid-call, against the
 * scripted server of test-utils.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakePeerConnection, FakeServer, fakeSdp, resetFakes } from '../test-utils/fakes.js';
import { Room } from './room.js';

let server: FakeServer;
let room: Room;
beforeEach(() => {
  resetFakes();
  server = new FakeServer();
  server.existing = [{ id: 'p_bot', name: 'bot' }];
});
afterEach(async () => {
  vi.useRealTimers();
  await room?.disconnect();
});

function makeRoom(extra: Partial<ConstructorParameters<typeof Room>[0]> = {}) {
  return new Room({ url: 'http://arbiter.test/rooms/r', name: 'Ada', environment: server.environment(), ...extra });
}

function record(r: Room) {
  const seen: string[] = [];
  r.on('connectionStateChanged', (s) => seen.push(`state ${s}`));
  r.on('participantJoined', (p) => seen.push(`joined ${p.name}`));
  r.on('participantLeft', (p, reason) => seen.push(`left ${p.name} ${reason}`));
  r.on('left', (reason) => seen.push(`room left ${reason}`));
  return seen;
}

const sentOn = (index: number) => server.sockets[index]!.messages();

const BOT_CAMERA = { id: 'camera', kind: 'video', source: 'camera', mid: '0', participant_id: 'p_bot' };

describe('a dropped signaling socket', () => {
  it('is resumed with the refresh credential: same participant, media untouched, the roster caught up', async () => {
    room = makeRoom();
    await room.connect();
    const producer = FakePeerConnection.all[0]!;
    const seen = record(room);
    // meanwhile the bot left and Bob came
    server.existing = [{ id: 'p_bob', name: 'Bob' }];
    server.sockets[0]!.drop();
    expect(room.connectionState).toBe('reconnecting');
    room.sendChat('typed while away'); // the data channel does not need signaling
    await vi.waitFor(() => expect(room.connectionState).toBe('connected'));
    expect(sentOn(1)[0]).toEqual({ action: 'resume', refresh_token: 'p_local1.cmVmcmVzaA' });
    expect(seen).toEqual(['state reconnecting', 'left bot left', 'joined Bob', 'state connected']);
    expect(room.localParticipant!.id).toBe('p_local1');
    expect(producer.closed).toBe(false);
    expect(FakePeerConnection.all).toHaveLength(1); // no new producer
    expect(room.participants.map((p) => p.name)).toEqual(['Ada', 'Bob']);
  });

  it('keeps what is sent meanwhile and sends it on the new socket', async () => {
    room = makeRoom();
    await room.connect();
    // the answer to this offer is made after the socket dropped: it waits for the new one
    server.sockets[0]!.deliver({
      action: 'handshake',
      connection: 'consumer',
      sdp: { type: 'offer', sdp: fakeSdp('sfu offer', ['video']) },
      tracks: [BOT_CAMERA],
    });
    server.sockets[0]!.drop();
    await vi.waitFor(() => expect(room.connectionState).toBe('connected'));
    await vi.waitFor(() =>
      expect(sentOn(1).filter((m) => m.action === 'handshake' && m.connection === 'consumer')).toHaveLength(1),
    );
    expect(sentOn(1)[0]!.action).toBe('resume');
  });

  it('sets the media up again when the server had dropped the participant', async () => {
    room = makeRoom();
    await room.connect();
    const seen = record(room);
    server.resume = 'new';
    server.sockets[0]!.drop();
    await vi.waitFor(() => expect(FakePeerConnection.all).toHaveLength(2));
    await vi.waitFor(() => expect(room.connectionState).toBe('connected'));
    expect(FakePeerConnection.all[0]!.closed).toBe(true);
    expect(sentOn(1).some((m) => m.action === 'handshake' && m.connection === 'producer')).toBe(true);
    expect(seen.filter((e) => e.startsWith('left'))).toEqual([]);
  });

  it('fails the room when the server refuses the resume', async () => {
    room = makeRoom();
    await room.connect();
    const seen = record(room);
    server.resume = 'refuse';
    server.sockets[0]!.drop();
    await vi.waitFor(() => expect(room.connectionState).toBe('failed'));
    expect(seen).toEqual(['state reconnecting', 'state failed', 'room left unauthorized']);
  });

  it('fails at once with a reconnect budget of 0', async () => {
    room = makeRoom({ reconnectTimeout: 0 });
    await room.connect();
    server.sockets[0]!.drop();
    expect(room.connectionState).toBe('failed');
    expect(server.sockets).toHaveLength(1);
  });
});

describe('keepalive and refresh', () => {
  it('sends keepalive every third of the idle timeout and replaces a socket that stops answering', async () => {
    server.idleTimeout = 3;
    vi.useFakeTimers({ shouldAdvanceTime: true });
    room = makeRoom();
    await room.connect();
    const keepalives = () => sentOn(0).filter((m) => m.action === 'keepalive').length;
    const before = keepalives();
    await vi.advanceTimersByTimeAsync(2000);
    expect(keepalives() - before).toBe(2);
    server.answerKeepalive = false; // half-open: nothing comes back
    await vi.advanceTimersByTimeAsync(1000);
    expect(room.connectionState).toBe('connected');
    await vi.advanceTimersByTimeAsync(5000); // the wait for an answer: at least 5 s
    expect(server.sockets).toHaveLength(2);
    expect(server.sockets[0]!.closed).toBe(true);
    server.answerKeepalive = true;
    await vi.advanceTimersByTimeAsync(10);
    expect(room.connectionState).toBe('connected');
    expect(sentOn(1)[0]!.action).toBe('resume');
  });

  it('refreshes the credential when half of its lifetime is gone and resumes with the newest', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const now = Math.floor(Date.now() / 1000);
    const original = server.fetch.getMockImplementation()!;
    server.fetch.mockImplementation(async (url: string, init?: RequestInit) => {
      const response = await original(url, init);
      const body = await response.json();
      return new Response(JSON.stringify({ ...body, refresh_expires_at: now + 100 }), { status: 200 });
    });
    room = makeRoom();
    await room.connect();
    await vi.advanceTimersByTimeAsync(49_000);
    expect(sentOn(0).filter((m) => m.action === 'refresh')).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(sentOn(0).filter((m) => m.action === 'refresh')).toEqual([
      { action: 'refresh', refresh_token: 'p_local1.cmVmcmVzaA' },
    ]);
    server.sockets[0]!.drop();
    await vi.advanceTimersByTimeAsync(10);
    expect(sentOn(1)[0]).toEqual({ action: 'resume', refresh_token: 'p_local1.next1' });
  });

  it('ends the room with session_expired, without trying to resume', async () => {
    room = makeRoom();
    await room.connect();
    const seen = record(room);
    server.sockets[0]!.deliver({ action: 'error', code: 'session_expired', message: 'the session has reached its lifetime' });
    server.sockets[0]!.drop();
    expect(room.connectionState).toBe('failed');
    expect(seen).toEqual(['state failed', 'room left session_expired']);
    expect(server.sockets).toHaveLength(1);
  });
});

describe('the end of the session', () => {
  it('is session_expired when a resume is refused at the session lifetime', async () => {
    const original = server.fetch.getMockImplementation()!;
    server.fetch.mockImplementation(async (url: string, init?: RequestInit) => {
      const body = await (await original(url, init)).json();
      return new Response(JSON.stringify({ ...body, session_expires_at: Math.floor(Date.now() / 1000) }), {
        status: 200,
      });
    });
    room = makeRoom();
    await room.connect();
    const seen = record(room);
    server.resume = 'refuse'; // the server forgot the ended session: "unknown credential"
    server.sockets[0]!.drop();
    await vi.waitFor(() => expect(room.connectionState).toBe('failed'));
    expect(seen).toEqual(['state reconnecting', 'state failed', 'room left session_expired']);
  });
});

describe('a new SFU mid-call', () => {
  it('publishes again on sfu_ready: new producer and consumers, same participants, no leave', async () => {
    room = makeRoom();
    await room.connect();
    const seen = record(room);
    server.socket.deliver({
      action: 'handshake',
      connection: 'consumer',
      sdp: { type: 'offer', sdp: fakeSdp('old sfu', ['video']) },
      tracks: [BOT_CAMERA],
    });
    await vi.waitFor(() => expect(room.getParticipant('p_bot')!.videoTrack).not.toBeNull());

    server.socket.deliver({ action: 'sfu_ready', room_id: 'r' });
    expect(room.connectionState).toBe('reconnecting');
    await vi.waitFor(() => expect(room.connectionState).toBe('connected'));
    const [oldProducer, oldConsumer, newProducer] = FakePeerConnection.all;
    expect(oldProducer!.closed && oldConsumer!.closed).toBe(true);
    expect(newProducer!.closed).toBe(false);
    expect(room.getParticipant('p_bot')!.videoTrack).toBeNull(); // until the new SFU offers
    expect(newProducer!.channels[0]!.messages().map((m) => m.action)).toEqual(['track_state', 'track_state']);
    expect(seen).toEqual(['state reconnecting', 'state connected']);
  });

  it('offers again when sfu_ready comes right after the refusal', async () => {
    server.autoAnswer = false;
    room = makeRoom();
    const connected = room.connect();
    await vi.waitFor(() => expect(server.socket.messages().some((m) => m.action === 'handshake')).toBe(true));
    server.autoAnswer = true;
    server.socket.deliver({ action: 'error', code: 'sfu_unavailable', message: 'the SFU went away', ref: 'handshake' });
    server.socket.deliver({ action: 'sfu_ready', room_id: 'r' });
    await connected;
    expect(server.socket.messages().filter((m) => m.action === 'handshake')).toHaveLength(2);
  });

  it('offers again after sfu_ready when the SFU went away under the join offer', async () => {
    server.autoAnswer = false;
    room = makeRoom();
    const connected = room.connect();
    await vi.waitFor(() => expect(server.socket.messages().some((m) => m.action === 'handshake')).toBe(true));
    server.socket.deliver({ action: 'error', code: 'sfu_unavailable', message: 'the SFU went away', ref: 'handshake' });
    await vi.waitFor(() => expect(FakePeerConnection.all[0]!.closed).toBe(true));
    server.autoAnswer = true;
    server.socket.deliver({ action: 'sfu_ready', room_id: 'r' });
    await connected;
    expect(room.connectionState).toBe('connected');
    expect(server.socket.messages().filter((m) => m.action === 'handshake')).toHaveLength(2);
  });
});
