/**
 * Media paths that die (docs/signaling.md): the producer's path found dead from its
 * statistics long before Chromium says `failed`, and the producer connection replaced on
 * the same SFU (same participant, same local tracks, no leave, no `sfu_ready`), retried
 * until it connects; against the scripted server of test-utils.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakePeerConnection, FakeServer, fakeSdp, resetFakes } from '../test-utils/fakes.js';
import { HEAL_ATTEMPT_MS, HEAL_RETRY_MS } from './link.js';
import { PATH_TIMEOUT_MS } from './path.js';
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
  r.on('participantLeft', (p, reason) => seen.push(`left ${p.name} ${reason}`));
  r.on('left', (reason) => seen.push(`room left ${reason}`));
  return seen;
}

/** The producer offers sent so far (every one on the same socket: no new session). */
const producerOffers = () =>
  server.socket.messages().filter((m) => m.action === 'handshake' && m.connection === 'producer' && m.sdp);

/** Make `pc` connected, its candidate pair receiving while `alive()` (bytes counted up). */
function receiving(pc: FakePeerConnection, alive: () => boolean): void {
  let bytes = 0;
  pc.getStats = async () => {
    if (alive()) bytes += 1200;
    return new Map([['CP1', { type: 'candidate-pair', bytesReceived: bytes, responsesReceived: 0 }]]);
  };
  pc.connectionState = 'connected';
  pc.emit('connectionstatechange');
}

function fail(pc: FakePeerConnection): void {
  pc.connectionState = 'failed';
  pc.emit('connectionstatechange');
}

describe('a producer path that dies', () => {
  it('is found dead after 4 s without anything received, long before the browser says failed', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    room = makeRoom();
    await room.connect();
    const seen = record(room);
    const producer = FakePeerConnection.all[0]!;
    let alive = true;
    receiving(producer, () => alive);
    await vi.advanceTimersByTimeAsync(10_000); // a path that receives is left alone
    expect(room.connectionState).toBe('connected');
    expect(producerOffers()).toHaveLength(1);
    alive = false; // its relay died
    await vi.advanceTimersByTimeAsync(PATH_TIMEOUT_MS - 1000);
    expect(room.connectionState).toBe('connected');
    await vi.advanceTimersByTimeAsync(2000);
    expect(producerOffers()).toHaveLength(2);
    await vi.waitFor(() => expect(room.connectionState).toBe('connected'));
    expect(producer.closed).toBe(true);
    expect(seen).toEqual(['state reconnecting', 'state connected']);
  });

  it('is replaced on the same SFU: same participant and tracks, no leave, no sfu_ready, no new session', async () => {
    room = makeRoom();
    await room.connect();
    const seen = record(room);
    const old = FakePeerConnection.all[0]!;
    const consumerOffer = { type: 'offer', sdp: `${fakeSdp('sfu', ['video'])}a=ice-ufrag:one\r\n` };
    server.socket.deliver({ action: 'handshake', connection: 'consumer', sdp: consumerOffer, tracks: [] });
    await vi.waitFor(() => expect(FakePeerConnection.all).toHaveLength(2));
    fail(old);
    expect(room.connectionState).toBe('reconnecting');
    await vi.waitFor(() => expect(room.connectionState).toBe('connected'));
    const [, consumer, healed] = FakePeerConnection.all;
    expect(FakePeerConnection.all).toHaveLength(3);
    expect(old.closed).toBe(true);
    expect(consumer!.closed).toBe(false); // the consumer's path is the SFU's to replace
    expect(healed!.transceivers.map((t) => t.track)).toEqual(old.transceivers.map((t) => t.track));
    expect(healed!.transceivers.every((t) => t.track?.readyState === 'live')).toBe(true);
    expect(healed!.channels[0]!.label).toBe('arbiter');
    expect(healed!.channels[0]!.messages().map((m) => m.action)).toEqual(['track_state', 'track_state']);
    expect(room.localParticipant!.id).toBe('p_local1');
    expect(server.joins).toHaveLength(1);
    expect(server.sockets).toHaveLength(1);
    expect(server.socket.messages().map((m) => m.action)).not.toContain('leave');
    expect(producerOffers()).toHaveLength(2);
    expect(seen).toEqual(['state reconnecting', 'state connected']);
  });

  it('retries an attempt that does not connect within 6 s, waiting longer each time', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    room = makeRoom();
    await room.connect();
    server.autoAnswer = false; // the relay is not back yet: no new connection comes up
    fail(FakePeerConnection.all[0]!);
    await vi.advanceTimersByTimeAsync(10);
    expect(producerOffers()).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(HEAL_ATTEMPT_MS + HEAL_RETRY_MS - 20);
    expect(producerOffers()).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(20);
    expect(producerOffers()).toHaveLength(3);
    expect(FakePeerConnection.all[1]!.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(HEAL_ATTEMPT_MS + HEAL_RETRY_MS);
    expect(producerOffers()).toHaveLength(3); // the second pause is twice as long
    await vi.advanceTimersByTimeAsync(HEAL_RETRY_MS);
    expect(producerOffers()).toHaveLength(4);
    server.autoAnswer = true;
    server.socket.deliver({ action: 'handshake', connection: 'producer', sdp: { type: 'answer', sdp: fakeSdp('sfu') } });
    await vi.advanceTimersByTimeAsync(10);
    expect(room.connectionState).toBe('connected');
  });

  it('fails the room when no new connection comes up within the reconnect budget', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    room = makeRoom({ reconnectTimeout: 10 });
    await room.connect();
    const seen = record(room);
    server.autoAnswer = false;
    fail(FakePeerConnection.all[0]!);
    await vi.advanceTimersByTimeAsync(9_900);
    expect(room.connectionState).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(200);
    expect(room.connectionState).toBe('failed');
    expect(seen).toEqual(['state reconnecting', 'state failed', 'room left connection_lost']);
    const offers = producerOffers().length;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(producerOffers()).toHaveLength(offers); // no attempt after the end
  });

  it('waits for the new SFU when the old one is gone under the new offer, then restarts', async () => {
    room = makeRoom();
    await room.connect();
    const seen = record(room);
    server.autoAnswer = false;
    fail(FakePeerConnection.all[0]!);
    await vi.waitFor(() => expect(producerOffers()).toHaveLength(2));
    server.socket.deliver({ action: 'error', code: 'sfu_unavailable', message: 'the SFU went away', ref: 'handshake' });
    await vi.waitFor(() => expect(FakePeerConnection.all[1]!.closed).toBe(true));
    expect(room.connectionState).toBe('reconnecting');
    server.autoAnswer = true;
    server.socket.deliver({ action: 'sfu_ready', room_id: 'r' });
    await vi.waitFor(() => expect(room.connectionState).toBe('connected'));
    expect(producerOffers()).toHaveLength(3);
    expect(FakePeerConnection.all[2]!.closed).toBe(false);
    expect(seen).toEqual(['state reconnecting', 'state connected']);
  });
});

describe('iceTransportPolicy', () => {
  it('is given to the producer and the consumer connections', async () => {
    room = makeRoom({ iceTransportPolicy: 'relay' });
    await room.connect();
    server.socket.deliver({
      action: 'handshake',
      connection: 'consumer',
      sdp: { type: 'offer', sdp: fakeSdp('sfu', ['video']) },
      tracks: [],
    });
    await vi.waitFor(() => expect(FakePeerConnection.all).toHaveLength(2));
    expect(FakePeerConnection.all.map((pc) => pc.config.iceTransportPolicy)).toEqual(['relay', 'relay']);
  });
});
