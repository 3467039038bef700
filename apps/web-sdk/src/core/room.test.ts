import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  asTrack,
  FakePeerConnection,
  FakeServer,
  FakeTrack,
  fakeSdp,
  refusingGetUserMedia,
  resetFakes,
} from '../test-utils/fakes.js';
import { ArbiterError } from './errors.js';
import { parseMessage } from './protocol/index.js';
import { normaliseRoomUrl, Room } from './room.js';

let server: FakeServer;
beforeEach(() => {
  resetFakes();
  server = new FakeServer();
});

function makeRoom(extra: Partial<ConstructorParameters<typeof Room>[0]> = {}) {
  return new Room({ url: 'http://arbiter.test/rooms/r/', name: 'Ada', environment: server.environment(), ...extra });
}

const producer = () => FakePeerConnection.all[0]!;

describe('Room.connect', () => {
  let room: Room;
  afterEach(() => room?.disconnect());

  it('joins over HTTP, identifies with the token and offers a sendonly producer with the arbiter channel', async () => {
    server.existing = [{ id: 'p_bot', name: 'bot' }];
    room = makeRoom();
    const states: string[] = [];
    room.on('connectionStateChanged', (s) => states.push(s));
    await room.connect();

    expect(server.joins).toEqual([{ url: 'http://arbiter.test/rooms/r/join', body: { name: 'Ada' } }]);
    const sent = server.socket.messages();
    expect(sent[0]).toEqual({ action: 'identify', token: 'token-1' });
    const offer = sent.find((m) => m.action === 'handshake');
    expect(offer).toMatchObject({ connection: 'producer', sdp: { type: 'offer', sdp: fakeSdp('offer audio,video') } });
    // the offer names its media sections: the microphone and the camera track
    expect(offer).toMatchObject({
      tracks: [
        { id: 'microphone', kind: 'audio', source: 'microphone', mid: '0' },
        { id: 'camera', kind: 'video', source: 'camera', mid: '1' },
      ],
    });
    const pc = producer();
    expect(pc.config.iceServers).toEqual([{ urls: ['stun:127.0.0.1:3478'] }]);
    expect(pc.transceivers.map((t) => [t.kind, t.direction])).toEqual([
      ['audio', 'sendonly'],
      ['video', 'sendonly'],
    ]);
    expect(pc.channels.map((c) => c.label)).toEqual(['arbiter']);
    expect(states).toEqual(['connecting', 'connected']);
    expect(room.roomId).toBe('r');
    expect(room.participants.map((p) => [p.name, p.isLocal])).toEqual([
      ['Ada', true],
      ['bot', false],
    ]);
  });

  it('announces its mute state with track_state once the channel opens', async () => {
    room = makeRoom({ video: false });
    await room.connect();
    expect(producer().channels[0]!.messages()).toEqual([
      { action: 'track_state', kind: 'audio', muted: false, sender: null, track_id: null, by: null },
      { action: 'track_state', kind: 'video', muted: true, sender: null, track_id: null, by: null },
    ]);
  });

  it('waits for sfu_ready before offering when the SFU is not ready', async () => {
    server.sfuReady = false;
    room = makeRoom();
    const connected = room.connect();
    await vi.waitFor(() => expect(server.socket.messages()).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 20));
    expect(FakePeerConnection.all).toHaveLength(0);
    server.socket.deliver({ action: 'sfu_ready', room_id: 'r' });
    await connected;
    expect(room.connectionState).toBe('connected');
  });

  it('connect() twice joins once', async () => {
    room = makeRoom();
    await Promise.all([room.connect(), room.connect()]);
    expect(server.fetch).toHaveBeenCalledTimes(1);
  });

  it('fails with the server error code when the room does not exist', async () => {
    server.joinStatus = 404;
    room = makeRoom();
    const errors: ArbiterError[] = [];
    room.on('error', (e) => errors.push(e));
    await expect(room.connect()).rejects.toMatchObject({ code: 'room_not_found', status: 404 });
    expect(room.connectionState).toBe('failed');
    expect(errors.map((e) => e.code)).toEqual(['room_not_found']);
  });

  it('rejects a URL that is not http(s)', () => {
    expect(() => normaliseRoomUrl('ftp://x/rooms/r')).toThrow(ArbiterError);
    expect(normaliseRoomUrl('http://x/rooms/r//')).toBe('http://x/rooms/r');
  });
});

describe('media permission', () => {
  it('joins without media and explains when camera and microphone are refused', async () => {
    const room = new Room({
      url: 'http://arbiter.test/rooms/r',
      environment: server.environment(refusingGetUserMedia('both')),
    });
    const errors: string[] = [];
    room.on('error', (e) => errors.push(e.code));
    await room.connect();
    expect(room.connectionState).toBe('connected');
    expect(room.mediaProblems).toHaveLength(1);
    expect(room.mediaProblems[0]).toMatchObject({ code: 'permission_denied', devices: ['camera', 'microphone'] });
    expect(room.mediaProblems[0]!.message).toMatch(/Camera and microphone permission was refused/);
    expect(errors).toEqual(['permission_denied']);
    expect(room.localParticipant).toMatchObject({ audioEnabled: false, videoEnabled: false, audioTrack: null });
    // still publishes (empty) transceivers so media can be added later without renegotiating
    expect(producer().transceivers.map((t) => [t.kind, t.track])).toEqual([
      ['audio', null],
      ['video', null],
    ]);
    await room.disconnect();
  });

  it('keeps the microphone when only the camera is refused', async () => {
    const room = new Room({
      url: 'http://arbiter.test/rooms/r',
      environment: server.environment(refusingGetUserMedia('video')),
    });
    await room.connect();
    expect(room.localParticipant).toMatchObject({ audioEnabled: true, videoEnabled: false });
    expect(room.mediaProblems.map((p) => p.devices)).toEqual([['camera']]);
    await room.disconnect();
  });
});

describe('a connected room', () => {
  let room: Room;
  beforeEach(async () => {
    server.existing = [{ id: 'p_bot', name: 'bot' }];
    room = makeRoom();
    await room.connect();
  });
  afterEach(() => room.disconnect());

  it('answers the consumer offers and puts each section\'s track on its participant', async () => {
    const subscribed = vi.fn();
    const unsubscribed = vi.fn();
    room.on('trackSubscribed', subscribed);
    room.on('trackUnsubscribed', unsubscribed);
    server.socket.deliver({
      action: 'handshake',
      connection: 'consumer',
      participant_id: 'p_local1',
      sdp: { type: 'offer', sdp: fakeSdp('sfu offer', ['audio', 'video']) },
      tracks: [
        { id: 'microphone', kind: 'audio', source: 'microphone', mid: '0', participant_id: 'p_bot' },
        { id: 'camera', kind: 'video', source: 'camera', mid: '1', participant_id: 'p_bot' },
      ],
    });
    const answers = () =>
      server.socket.messages().filter((m) => m.action === 'handshake' && m.connection === 'consumer');
    await vi.waitFor(() => expect(answers()).toHaveLength(1));
    expect(answers()[0]).toMatchObject({ sdp: { type: 'answer', sdp: fakeSdp('answer') } });
    const consumer = FakePeerConnection.all[1]!;
    const bot = room.getParticipant('p_bot')!;
    expect(bot.videoTrack).toBe(asTrack(consumer.received('1')));
    expect(bot.audioTrack).toBe(asTrack(consumer.received('0')));
    expect(bot.tracks.map((t) => [t.id, t.source])).toEqual([
      ['microphone', 'microphone'],
      ['camera', 'camera'],
    ]);
    expect(subscribed).toHaveBeenCalledTimes(2);

    // renegotiated: another participant's screen on a new section, bot's camera gone
    server.socket.deliver({ action: 'participant_joined', participant: { id: 'p_2', name: 'Bob' } });
    server.socket.deliver({
      action: 'handshake',
      connection: 'consumer',
      sdp: { type: 'offer', sdp: fakeSdp('sfu offer 2', ['audio', 'video', 'video']) },
      tracks: [
        { id: 'microphone', kind: 'audio', source: 'microphone', mid: '0', participant_id: 'p_bot' },
        { id: 'screen', kind: 'video', source: 'screen', mid: '2', participant_id: 'p_2' },
      ],
    });
    await vi.waitFor(() => expect(answers()).toHaveLength(2));
    expect(FakePeerConnection.all).toHaveLength(2); // the same connection, offered again
    expect(room.getParticipant('p_bot')!.videoTrack).toBeNull();
    expect(unsubscribed).toHaveBeenCalledTimes(1);
    const bob = room.getParticipant('p_2')!;
    expect(bob.videoTrack).toBeNull(); // a screen is not a camera
    expect(bob.screenTrack).toBe(asTrack(consumer.received('2')));
    expect(bob.tracks.map((t) => t.source)).toEqual(['screen']);

    server.socket.deliver({ action: 'participant_left', participant_id: 'p_bot', reason: 'left' });
    expect(consumer.closed).toBe(false); // it still carries bob's screen
    expect(room.participants.map((p) => p.name)).toEqual(['Ada', 'Bob']);
    expect(unsubscribed).toHaveBeenCalledTimes(2);
  });

  it('answers an offer with new ICE credentials on a new consumer connection (the SFU replaced it)', async () => {
    const unsubscribed = vi.fn();
    room.on('trackUnsubscribed', unsubscribed);
    const offer = (ufrag: string) => ({
      action: 'handshake',
      connection: 'consumer',
      sdp: { type: 'offer', sdp: `${fakeSdp('sfu offer', ['audio', 'video'])}a=ice-ufrag:${ufrag}\r\n` },
      tracks: [
        { id: 'microphone', kind: 'audio', source: 'microphone', mid: '0', participant_id: 'p_bot' },
        { id: 'camera', kind: 'video', source: 'camera', mid: '1', participant_id: 'p_bot' },
      ],
    });
    const answers = () =>
      server.socket.messages().filter((m) => m.action === 'handshake' && m.connection === 'consumer');
    server.socket.deliver(offer('first'));
    await vi.waitFor(() => expect(answers()).toHaveLength(1));
    server.socket.deliver(offer('first')); // a renegotiation: the same connection
    await vi.waitFor(() => expect(answers()).toHaveLength(2));
    expect(FakePeerConnection.all).toHaveLength(2);
    const old = FakePeerConnection.all[1]!;

    server.socket.deliver(offer('second'));
    await vi.waitFor(() => expect(answers()).toHaveLength(3));
    expect(FakePeerConnection.all).toHaveLength(3);
    expect(old.closed).toBe(true);
    const replacement = FakePeerConnection.all[2]!;
    expect(replacement.remoteDescription?.sdp).toContain('a=ice-ufrag:second');
    const bot = room.getParticipant('p_bot')!;
    // the same participant and track ids, now on the new connection's tracks
    expect(bot.tracks.map((t) => t.id)).toEqual(['microphone', 'camera']);
    expect(bot.videoTrack).toBe(asTrack(replacement.received('1')));
    expect(unsubscribed).toHaveBeenCalledTimes(2);
  });

  it('publishes the camera in three simulcast layers and stops those nobody receives', async () => {
    const video = producer().transceivers.find((t) => t.kind === 'video')!;
    expect(video.encodings.map((e) => [e.rid, e.scaleResolutionDownBy])).toEqual([
      ['q', 4],
      ['h', 2],
      ['f', 1],
    ]);
    producer().channels[0]!.deliver({ action: 'layers', track_id: 'camera', active: ['q', 'f'] });
    await vi.waitFor(() => expect(video.sender.setParameters).toHaveBeenCalledTimes(1));
    expect(video.encodings.map((e) => [e.rid, e.active])).toEqual([
      ['q', true],
      ['h', false],
      ['f', true],
    ]);
    producer().channels[0]!.deliver({ action: 'layers', track_id: 'camera', active: ['q', 'h', 'f'] });
    await vi.waitFor(() => expect(video.encodings.every((e) => e.active)).toBe(true));
  });

  it('asks for a quality with setSubscription, once per change', () => {
    const channel = producer().channels[0]!;
    room.setSubscription('p_bot', { quality: 'low' });
    room.setSubscription('p_bot', { quality: 'low' });
    room.setSubscription('p_bot', { quality: 'high', trackId: 'camera' });
    const sent = channel.sent.map((raw) => parseMessage(raw)).filter((m) => m.action === 'subscription');
    expect(sent).toEqual([
      expect.objectContaining({ producer_id: 'p_bot', quality: 'low', track_id: null }),
      expect.objectContaining({ producer_id: 'p_bot', quality: 'high', track_id: 'camera' }),
    ]);
  });

  it('adds a participant on participant_joined and removes it on participant_left', () => {
    const left = vi.fn();
    room.on('participantLeft', left);
    server.socket.deliver({ action: 'participant_joined', participant: { id: 'p_2', name: 'Bob' } });
    expect(room.participants.map((p) => p.name)).toEqual(['Ada', 'bot', 'Bob']);
    server.socket.deliver({ action: 'participant_left', participant_id: 'p_2', reason: 'disconnected' });
    expect(room.participants.map((p) => p.name)).toEqual(['Ada', 'bot']);
    expect(left).toHaveBeenCalledWith(expect.objectContaining({ id: 'p_2' }), 'disconnected');
  });

  it('sends chat as a data message with topic chat and receives it from others', () => {
    const channel = producer().channels[0]!;
    room.sendChat('  hello  ');
    const sent = channel.sent.map((raw) => parseMessage(raw)).filter((m) => m.action === 'data');
    expect(sent).toEqual([
      expect.objectContaining({ action: 'data', kind: 'text', data: 'hello', topic: 'chat', to: null }),
    ]);
    channel.deliver({ action: 'data', kind: 'text', data: 'hi Ada', id: 'm1', sender: 'p_bot', topic: 'chat' });
    expect(room.chatMessages.map((m) => [m.senderName, m.text, m.isLocal])).toEqual([
      ['Ada', 'hello', true],
      ['bot', 'hi Ada', false],
    ]);
  });

  it('passes other data on with its topic, decoding bytes', () => {
    const got = vi.fn();
    room.on('data', got);
    producer().channels[0]!.deliver({ action: 'data', kind: 'bytes', data: 'AAEC', id: 'm2', sender: 'p_bot', topic: 'x' });
    expect(got).toHaveBeenCalledWith({ senderId: 'p_bot', data: new Uint8Array([0, 1, 2]), topic: 'x', id: 'm2' });
    expect(room.chatMessages).toHaveLength(0);
  });

  it('shows remote mute state from track_state', () => {
    producer().channels[0]!.deliver({ action: 'track_state', kind: 'audio', muted: true, sender: 'p_bot' });
    expect(room.getParticipant('p_bot')).toMatchObject({ audioEnabled: false, videoEnabled: true });
  });

  it('mutes the microphone locally and tells the others', async () => {
    const channel = producer().channels[0]!;
    channel.sent.length = 0;
    await room.setMicrophoneEnabled(false);
    expect(room.localParticipant!.audioEnabled).toBe(false);
    expect((room.localParticipant!.audioTrack as unknown as FakeTrack).enabled).toBe(false);
    expect(channel.messages()).toEqual([{ action: 'track_state', kind: 'audio', muted: true, sender: null, track_id: null, by: null }]);
  });

  it('leaves: sends leave, closes every connection and stops the devices', async () => {
    const local = room.localParticipant!;
    const left = vi.fn();
    room.on('left', left);
    await room.disconnect();
    expect(server.socket.messages().at(-1)).toEqual({ action: 'leave' });
    expect(server.socket.closed).toBe(true);
    expect(producer().closed).toBe(true);
    expect((local.audioTrack as unknown as FakeTrack).stop).toHaveBeenCalled();
    expect((local.videoTrack as unknown as FakeTrack).stop).toHaveBeenCalled();
    expect(room.connectionState).toBe('disconnected');
    expect(left).toHaveBeenCalledWith('left');
  });

  it('reports a lost signaling connection as reconnecting, then resumes', async () => {
    const states: string[] = [];
    room.on('connectionStateChanged', (s) => states.push(s));
    server.socket.drop();
    await vi.waitFor(() => expect(states).toEqual(['reconnecting', 'connected']));
  });
});
