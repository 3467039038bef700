import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asTrack, FakePeerConnection, FakeServer, FakeTrack, resetFakes } from '../test-utils/fakes.js';
import { Room } from './room.js';
import { Wishes } from './wishes.js';

let server: FakeServer;
let room: Room;
const producer = () => FakePeerConnection.all[0]!;
const channel = () => producer().channels[0]!;
const offers = () =>
  server.socket.messages().filter((m) => m.action === 'handshake' && m.connection === 'producer' && m.sdp);

beforeEach(async () => {
  resetFakes();
  server = new FakeServer();
  server.existing = [{ id: 'p_bot', name: 'bot' }];
  room = new Room({ url: 'http://arbiter.test/rooms/r', name: 'Ada', environment: server.environment() });
  await room.connect();
});
afterEach(() => room.disconnect());

describe('active speakers', () => {
  it('come from the SFU: the list, isSpeaking and one event per change', () => {
    const changes: (readonly string[])[] = [];
    room.on('activeSpeakersChanged', (s) => changes.push(s));
    channel().deliver({ action: 'active_speakers', speakers: ['p_bot', 'p_local1'] });
    expect(room.activeSpeakers).toEqual(['p_bot', 'p_local1']);
    expect(room.participants.map((p) => [p.name, p.isSpeaking])).toEqual([
      ['Ada', true],
      ['bot', true],
    ]);
    channel().deliver({ action: 'active_speakers', speakers: ['p_bot', 'p_local1'] }); // no change
    channel().deliver({ action: 'active_speakers', speakers: [] });
    expect(changes).toEqual([['p_bot', 'p_local1'], []]);
    expect(room.participants.some((p) => p.isSpeaking)).toBe(false);
    // a newcomer already speaking when it is announced shows so
    channel().deliver({ action: 'active_speakers', speakers: ['p_new'] });
    server.socket.deliver({ action: 'participant_joined', participant: { id: 'p_new', name: 'New' } });
    expect(room.getParticipant('p_new')!.isSpeaking).toBe(true);
  });
});

describe('screen share', () => {
  it('adds a screen section to the same producer, offers it again, and takes it away', async () => {
    expect(await room.startScreenShare()).toBe(true);
    expect(FakePeerConnection.all).toHaveLength(1); // the same connection, renegotiated
    const pc = producer();
    expect(pc.transceivers.map((t) => [t.kind, t.direction])).toEqual([
      ['audio', 'sendonly'],
      ['video', 'sendonly'],
      ['video', 'sendonly'],
    ]);
    expect(offers()).toHaveLength(2);
    expect(offers()[1]).toMatchObject({
      tracks: [
        { id: 'microphone', source: 'microphone', mid: '0' },
        { id: 'camera', source: 'camera', mid: '1' },
        { id: 'screen', kind: 'video', source: 'screen', mid: '2' },
      ],
    });
    const local = room.localParticipant!;
    expect(local.screenTrack).not.toBeNull();
    expect(channel().messages().at(-1)).toEqual({
      action: 'track_state',
      kind: 'video',
      muted: false,
      sender: null,
      track_id: 'screen',
      by: null,
    });

    await room.stopScreenShare();
    expect(pc.transceivers[2]!.direction).toBe('inactive');
    expect(pc.transceivers[2]!.sender.replaceTrack).toHaveBeenLastCalledWith(null);
    expect(offers()).toHaveLength(3);
    expect((local.screenTrack as unknown as FakeTrack).stop).toHaveBeenCalled();
    expect(room.localParticipant!.screenTrack).toBeNull();

    // sharing again takes up the same section
    await room.setScreenShareEnabled(true);
    expect(pc.transceivers).toHaveLength(3);
    expect(pc.transceivers[2]!.direction).toBe('sendonly');
    expect(offers()).toHaveLength(4);
  });

  it("ends when the browser's own Stop sharing ends the track, and a cancelled picker shares nothing", async () => {
    await room.startScreenShare();
    const track = room.localParticipant!.screenTrack as unknown as FakeTrack;
    track.end();
    await vi.waitFor(() => expect(room.localParticipant!.screenTrack).toBeNull());
    await vi.waitFor(() => expect(offers()).toHaveLength(3));

    const cancelled = new Error('the user cancelled');
    cancelled.name = 'NotAllowedError';
    server.getDisplayMedia.mockRejectedValueOnce(cancelled);
    const errors = vi.fn();
    room.on('error', errors);
    expect(await room.startScreenShare()).toBe(false);
    expect(errors).not.toHaveBeenCalled();
  });

  it('goes on over the new producer connection of a new SFU', async () => {
    await room.startScreenShare();
    const track = room.localParticipant!.screenTrack;
    server.socket.deliver({ action: 'sfu_ready', room_id: 'r' });
    await vi.waitFor(() => expect(offers()).toHaveLength(4)); // join, share, new SFU, its share
    const fresh = FakePeerConnection.all.at(-1)!;
    expect(fresh).not.toBe(producer());
    expect(fresh.transceivers.map((t) => [t.kind, t.direction])).toEqual([
      ['audio', 'sendonly'],
      ['video', 'sendonly'],
      ['video', 'sendonly'],
    ]);
    expect(fresh.transceivers[2]!.track).toBe(track);
    expect(offers()[3]).toMatchObject({ tracks: [{ id: 'microphone' }, { id: 'camera' }, { id: 'screen' }] });
  });

  it("shows a remote participant's paused screen from its track_state", () => {
    channel().deliver({ action: 'track_state', kind: 'video', muted: true, sender: 'p_bot', track_id: 'screen' });
    const bot = room.getParticipant('p_bot')!;
    expect([bot.screenEnabled, bot.videoEnabled]).toEqual([false, true]);
  });
});

describe('room state', () => {
  it('sends a raised hand and a new name through signaling and shows what the server says', () => {
    room.setHandRaised(true);
    room.setName('  Ada L.  ');
    const sent = server.socket.messages().filter((m) => m.action === 'update_participant');
    expect(sent).toEqual([
      { action: 'update_participant', hand_raised: true, name: null },
      { action: 'update_participant', name: 'Ada L.', hand_raised: null },
    ]);
    expect(() => room.setName('   ')).toThrow(/empty/);
    const updated = vi.fn();
    room.on('participantUpdated', updated);
    server.socket.deliver({
      action: 'participant_updated',
      participant: { id: 'p_local1', name: 'Ada L.', hand_raised: true },
    });
    server.socket.deliver({ action: 'participant_updated', participant: { id: 'p_bot', name: 'Bot 2' } });
    expect(room.participants.map((p) => [p.name, p.handRaised])).toEqual([
      ['Ada L.', true],
      ['Bot 2', false],
    ]);
    expect(updated).toHaveBeenCalledTimes(2);
  });
});

describe('devices', () => {
  it('switches the camera with replaceTrack: the old one stops, nothing is offered again', async () => {
    const gum = vi.fn(async (c: MediaStreamConstraints) => {
      expect(c).toEqual({ audio: false, video: { width: { ideal: 1280 }, height: { ideal: 720 }, deviceId: { exact: 'cam-2' } } });
      return { getAudioTracks: () => [], getVideoTracks: () => [next] } as unknown as MediaStream;
    });
    const next = new FakeTrack('video');
    room.disconnect();
    resetFakes();
    room = new Room({
      url: 'http://arbiter.test/rooms/r',
      name: 'Ada',
      environment: { ...server.environment(), getUserMedia: gum },
      video: false,
    });
    // joined without a camera (video: false asks for none); now use 'cam-2'
    await room.connect();
    const old = room.localParticipant!.videoTrack;
    const changed = vi.fn();
    room.on('devicesChanged', changed);
    expect(await room.switchDevice('videoinput', 'cam-2')).toBe(true);
    const video = producer().transceivers[1]!;
    expect(video.sender.replaceTrack).toHaveBeenLastCalledWith(next);
    expect(room.localParticipant!.videoTrack).toBe(asTrack(next));
    expect(old).toBeNull();
    expect(offers()).toHaveLength(1); // no renegotiation
    expect(room.activeDevices).toEqual({ videoinput: 'cam-2' });
    expect(changed).toHaveBeenCalledWith({ videoinput: 'cam-2' });
    expect(await room.switchDevice('audiooutput', 'speaker-9')).toBe(true);
    expect(room.activeDevices).toEqual({ videoinput: 'cam-2', audiooutput: 'speaker-9' });
  });

  it('joins with the chosen devices', async () => {
    room.disconnect();
    resetFakes();
    const gum = vi.fn(async (c: MediaStreamConstraints) => ({
      getAudioTracks: () => (c.audio ? [new FakeTrack('audio')] : []),
      getVideoTracks: () => (c.video ? [new FakeTrack('video')] : []),
    }) as unknown as MediaStream);
    room = new Room({
      url: 'http://arbiter.test/rooms/r',
      name: 'Ada',
      devices: { audioinput: 'mic-2', videoinput: 'cam-3' },
      environment: { ...server.environment(), getUserMedia: gum },
    });
    await room.connect();
    expect(gum).toHaveBeenCalledWith({
      audio: { deviceId: { exact: 'mic-2' } },
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, deviceId: { exact: 'cam-3' } },
    });
  });
});

describe('subscriptions', () => {
  it('merge what was asked of a track: quality and visibility keep each other; a repeat sends nothing', () => {
    const wishes = new Wishes();
    expect(wishes.change('p', { trackId: 'camera', quality: 'low' })).toMatchObject({
      video: true,
      quality: 'low',
      track_id: 'camera',
    });
    expect(wishes.change('p', { trackId: 'camera', video: false })).toMatchObject({ video: false, quality: 'low' });
    expect(wishes.change('p', { trackId: 'camera', video: false })).toBeNull();
    expect(wishes.wantsVideo('p', 'camera')).toBe(false);
    wishes.forget('p');
    expect(wishes.wantsVideo('p', 'camera')).toBe(true);
  });

  it('sends each change once on the data channel', () => {
    room.setSubscription('p_bot', { trackId: 'camera', video: false });
    room.setSubscription('p_bot', { trackId: 'camera', video: false });
    room.setSubscription('p_bot', { trackId: 'camera', quality: 'medium' });
    const sent = channel()
      .messages()
      .filter((m) => m.action === 'subscription');
    expect(sent).toEqual([
      { action: 'subscription', producer_id: 'p_bot', video: false, audio: true, track_id: 'camera', quality: null },
      { action: 'subscription', producer_id: 'p_bot', video: false, audio: true, track_id: 'camera', quality: 'medium' },
    ]);
  });
});
