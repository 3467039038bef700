import { act, renderHook } from '@testing-library/react';
import type { ReactNode } from 'react';
import { beforeEach, describe, expect, it } from 'vitest';
import { RoomContext } from '../context/room-context.js';
import { Room } from '../core/room.js';
import { FakePeerConnection, FakeServer, FakeTrack, fakeSdp, resetFakes } from '../test-utils/fakes.js';
import { useChat } from './useChat.js';
import { useConnectionState } from './useConnectionState.js';
import { useParticipants } from './useParticipants.js';
import { tracksOf, useTracks } from './useTracks.js';
import { qualityForWidth } from './useTileQuality.js';
import { useRoom } from '../context/room-context.js';

let server: FakeServer;
let room: Room;
beforeEach(async () => {
  resetFakes();
  server = new FakeServer();
  server.existing = [{ id: 'p_bot', name: 'bot' }];
  room = new Room({ url: 'http://arbiter.test/rooms/r', name: 'Ada', environment: server.environment() });
  return () => room.disconnect();
});

const wrapper = ({ children }: { children: ReactNode }) => (
  <RoomContext.Provider value={room}>{children}</RoomContext.Provider>
);

describe('context', () => {
  it('useRoom throws a clear error outside <ArbiterRoom>', () => {
    expect(() => renderHook(() => useRoom())).toThrow(/outside of an <ArbiterRoom>/);
  });
  it('hooks take the room from context or from an argument', () => {
    expect(renderHook(() => useRoom(), { wrapper }).result.current).toBe(room);
    expect(renderHook(() => useConnectionState(room)).result.current).toBe('idle');
  });
});

describe('useConnectionState and useParticipants', () => {
  it('follow the room as it joins and people come and go', async () => {
    const state = renderHook(() => useConnectionState(), { wrapper });
    const people = renderHook(() => useParticipants(), { wrapper });
    expect(people.result.current).toEqual([]);
    await act(async () => {
      await room.connect();
    });
    expect(state.result.current).toBe('connected');
    expect(people.result.current.map((p) => p.name)).toEqual(['Ada', 'bot']);
    act(() => server.socket.deliver({ action: 'participant_joined', participant: { id: 'p_2', name: 'Bob' } }));
    expect(people.result.current.map((p) => p.name)).toEqual(['Ada', 'bot', 'Bob']);
    act(() => server.socket.deliver({ action: 'participant_left', participant_id: 'p_bot' }));
    expect(people.result.current.map((p) => p.name)).toEqual(['Ada', 'Bob']);
  });
});

describe('qualityForWidth', () => {
  it('asks for the smallest simulcast layer at least as wide as the tile', () => {
    expect(qualityForWidth(200)).toBe('low');
    expect(qualityForWidth(320)).toBe('low');
    expect(qualityForWidth(321)).toBe('medium');
    expect(qualityForWidth(300, 2)).toBe('medium');
    expect(qualityForWidth(900)).toBe('high');
  });
});

describe('useTracks', () => {
  it('lists published tracks of the wanted kinds with their participant', async () => {
    await act(async () => {
      await room.connect();
    });
    const { result } = renderHook(() => useTracks({ kinds: ['video'] }), { wrapper });
    expect(result.current.map((t) => [t.participant.name, t.kind])).toEqual([['Ada', 'video']]);
    act(() =>
      server.socket.deliver({
        action: 'handshake',
        connection: 'consumer',
        sdp: { type: 'offer', sdp: fakeSdp('sfu offer', ['video']) },
        tracks: [{ id: 'camera', kind: 'video', source: 'camera', mid: '0', participant_id: 'p_bot' }],
      }),
    );
    await act(async () => {
      await new Promise((r) => setTimeout(r, 10));
    });
    expect(result.current.map((t) => [t.participant.name, t.kind])).toEqual([
      ['Ada', 'video'],
      ['bot', 'video'],
    ]);
  });

  it('tracksOf keeps participant order and skips missing tracks', () => {
    const v = new FakeTrack('video') as unknown as MediaStreamTrack;
    const a = new FakeTrack('audio') as unknown as MediaStreamTrack;
    const base = { isLocal: false, audioEnabled: true, videoEnabled: true, isSpeaking: false };
    const refs = tracksOf(
      [
        { ...base, id: '1', name: 'x', audioTrack: a, videoTrack: null, tracks: [] },
        { ...base, id: '2', name: 'y', audioTrack: null, videoTrack: v, tracks: [] },
      ],
      ['video', 'audio'],
    );
    expect(refs.map((r) => [r.participant.id, r.kind])).toEqual([
      ['1', 'audio'],
      ['2', 'video'],
    ]);
  });
});

describe('useChat', () => {
  it('sends and receives chat messages', async () => {
    await act(async () => {
      await room.connect();
    });
    const { result } = renderHook(() => useChat(), { wrapper });
    expect(result.current.canSend).toBe(true);
    act(() => {
      result.current.send('hi');
    });
    act(() =>
      FakePeerConnection.all[0]!.channels[0]!.deliver({
        action: 'data',
        kind: 'text',
        data: 'yo',
        id: 'm1',
        sender: 'p_bot',
        topic: 'chat',
      }),
    );
    expect(result.current.messages.map((m) => `${m.senderName}: ${m.text}`)).toEqual(['Ada: hi', 'bot: yo']);
  });
});
