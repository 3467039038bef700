/**
 * Stand-ins for the browser APIs the Room uses (fetch, WebSocket, RTCPeerConnection,
 * getUserMedia), and a scripted server that answers like Arbiter's signaling and SFU.
 * Test-only: excluded from the build.
 */
import { vi } from 'vitest';
import { encodeMessage, messageFromDict, parseMessage, type Message } from '../core/protocol/index.js';
import type { RoomEnvironment } from '../core/room.js';

/** A minimal SDP that passes the protocol's SDP check; `tag` goes in the s= line. */
export function fakeSdp(tag: string, media: readonly ('audio' | 'video')[] = []): string {
  const sections = media.map((kind, i) => `m=${kind} 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:${i}\r\n`).join('');
  return `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=${tag}\r\nt=0 0\r\n${sections}`;
}

export class FakeTrack {
  static count = 0;
  id: string;
  enabled = true;
  readyState: 'live' | 'ended' = 'live';
  stop = vi.fn(() => {
    this.readyState = 'ended';
  });
  private listeners = new Map<string, Set<() => void>>();
  /** What the camera gives (a 1280x720 camera: simulcast in three layers). */
  settings: { width?: number; height?: number } = { width: 1280, height: 720 };
  constructor(public kind: 'audio' | 'video') {
    FakeTrack.count += 1;
    this.id = `${kind}-${FakeTrack.count}`;
  }
  getSettings(): { width?: number; height?: number } {
    return this.settings;
  }
  addEventListener(type: string, fn: () => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  }
  removeEventListener(type: string, fn: () => void): void {
    this.listeners.get(type)?.delete(fn);
  }
  end(): void {
    this.readyState = 'ended';
    for (const fn of this.listeners.get('ended') ?? []) fn();
  }
}

export function asTrack(t: FakeTrack): MediaStreamTrack {
  return t as unknown as MediaStreamTrack;
}

export class FakeDataChannel {
  readyState: 'connecting' | 'open' | 'closed' = 'connecting';
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  constructor(public label: string) {}
  send(data: string): void {
    if (this.readyState !== 'open') throw new Error('channel not open');
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 'closed';
  }
  open(): void {
    this.readyState = 'open';
    this.onopen?.();
  }
  /** The SFU sends a message on this channel. */
  deliver(message: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify({ v: 1, ...message }) });
  }
  messages(): Message[] {
    return this.sent.map((raw) => parseMessage(raw));
  }
}

export class FakePeerConnection {
  static all: FakePeerConnection[] = [];
  config: RTCConfiguration;
  transceivers: {
    kind: string;
    track: FakeTrack | null;
    direction: string;
    mid: string | null;
    encodings: { rid?: string; active?: boolean; scaleResolutionDownBy?: number }[];
    sender: {
      replaceTrack: ReturnType<typeof vi.fn>;
      getParameters: () => { encodings: { rid?: string; active?: boolean }[] };
      setParameters: ReturnType<typeof vi.fn>;
    };
    receiver: { track: FakeTrack; getStats: () => Promise<Map<string, unknown>> };
  }[] = [];
  channels: FakeDataChannel[] = [];
  localDescription: { type: string; sdp: string } | null = null;
  remoteDescription: { type: string; sdp: string } | null = null;
  iceGatheringState = 'complete';
  connectionState = 'new';
  closed = false;
  candidates: unknown[] = [];
  private listeners = new Map<string, Set<(e: unknown) => void>>();

  constructor(config: RTCConfiguration) {
    this.config = config;
    FakePeerConnection.all.push(this);
  }
  addTransceiver(
    trackOrKind: FakeTrack | string,
    init: {
      direction: string;
      sendEncodings?: { rid?: string; active?: boolean; scaleResolutionDownBy?: number }[];
    },
  ) {
    const track = typeof trackOrKind === 'string' ? null : trackOrKind;
    const kind = typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind;
    const encodings = (init.sendEncodings ?? [{}]).map((e) => ({ active: true, ...e }));
    const t = {
      kind,
      track,
      direction: init.direction,
      mid: null as string | null,
      encodings,
      sender: {
        replaceTrack: vi.fn(async () => undefined),
        getParameters: () => ({ encodings: encodings.map((e) => ({ ...e })) }),
        setParameters: vi.fn(async (p: { encodings: { rid?: string; active?: boolean }[] }) => {
          p.encodings.forEach((e, i) => Object.assign(encodings[i]!, e));
        }),
      },
      receiver: { track: new FakeTrack(kind as 'audio' | 'video'), getStats: async () => new Map() },
    };
    this.transceivers.push(t);
    return t;
  }
  createDataChannel(label: string): FakeDataChannel {
    const c = new FakeDataChannel(label);
    this.channels.push(c);
    return c;
  }
  async createOffer() {
    return { type: 'offer', sdp: fakeSdp(`offer ${this.transceivers.map((t) => t.kind).join(',')}`) };
  }
  async createAnswer() {
    return { type: 'answer', sdp: fakeSdp('answer') };
  }
  async setLocalDescription(d: { type: string; sdp: string }) {
    this.localDescription = d;
    this.transceivers.forEach((t, i) => {
      t.mid ??= String(i);
    });
  }
  async setRemoteDescription(d: { type: string; sdp: string }) {
    this.remoteDescription = d;
    if (d.type === 'offer') {
      // a recvonly transceiver per media section not seen before, as a browser makes them
      for (const m of d.sdp.matchAll(/m=(audio|video)[^\r\n]*\r\na=mid:(\S+)/g)) {
        if (this.transceivers.some((t) => t.mid === m[2])) continue;
        const t = this.addTransceiver(m[1]!, { direction: 'recvonly' });
        t.mid = m[2]!;
      }
    }
    // the producer's data channel opens once the answer is in
    if (d.type === 'answer') queueMicrotask(() => this.channels.forEach((c) => c.open()));
  }
  async addIceCandidate(c: unknown) {
    this.candidates.push(c);
  }
  async getStats() {
    return new Map();
  }
  addEventListener(type: string, fn: (e: unknown) => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  }
  removeEventListener(type: string, fn: (e: unknown) => void) {
    this.listeners.get(type)?.delete(fn);
  }
  /** Fire an event with no payload (e.g. `connectionstatechange`). */
  emit(type: string) {
    for (const fn of this.listeners.get(type) ?? []) fn({});
  }
  emitTrack(track: FakeTrack) {
    for (const fn of this.listeners.get('track') ?? []) fn({ track });
  }
  getTransceivers() {
    return this.transceivers;
  }
  /** The track received on media section ``mid``. */
  received(mid: string): FakeTrack {
    return this.transceivers.find((t) => t.mid === mid)!.receiver.track;
  }
  close() {
    this.closed = true;
  }
}

/** A scripted Arbiter: HTTP join, signaling and the SFU's answers. */
export class FakeServer {
  sockets: FakeWebSocket[] = [];
  joins: { url: string; body: unknown }[] = [];
  existing: { id: string; name: string }[] = [];
  joinStatus = 200;
  joinError = { code: 'room_not_found', message: "no room 'r'" };
  sfuReady = true;
  /** Answer the producer offer automatically. */
  autoAnswer = true;
  /** What `getDisplayMedia` gives: a screen track (the user picked a screen). */
  getDisplayMedia = vi.fn(async () => fakeStream([new FakeTrack('video')]));
  /** The grants the join response carries (none: the field is left out). */
  grants: string[] | null = null;
  /** Put the joiner in the lobby: `identified` says `waiting` (the test admits it). */
  lobby = false;
  /** The server's idle timeout, told in `identified` (none: the SDK assumes 600 s). */
  idleTimeout: number | null = null;
  /** Answer `keepalive` with `keepalive_ack`. */
  answerKeepalive = true;
  /** How `resume` is answered: taken over, a new arrival (dropped meanwhile), or refused. */
  resume: 'resumed' | 'new' | 'refuse' = 'resumed';
  /** Refresh credentials received (resume and refresh), in order. */
  spent: string[] = [];
  private counter = 0;
  private issued = 0;

  fetch = vi.fn(async (url: string, init?: RequestInit) => {
    this.joins.push({ url, body: JSON.parse(String(init?.body ?? '{}')) });
    if (this.joinStatus !== 200) {
      return new Response(JSON.stringify({ error: this.joinError }), { status: this.joinStatus });
    }
    this.counter += 1;
    return new Response(
      JSON.stringify({
        room_id: 'r',
        participant_id: `p_local${this.counter}`,
        token: `token-${this.counter}`,
        signaling_url: 'ws://arbiter.test/ws',
        ice_servers: [{ urls: ['stun:127.0.0.1:3478'] }],
        expires_at: 2000000000,
        refresh_token: `p_local${this.counter}.cmVmcmVzaA`,
        refresh_expires_at: 2000003600,
        session_expires_at: 2000043200,
        ...(this.grants ? { grants: this.grants } : {}),
      }),
      { status: 200 },
    );
  });

  get socket(): FakeWebSocket {
    const ws = this.sockets[this.sockets.length - 1];
    if (!ws) throw new Error('no WebSocket was opened');
    return ws;
  }

  /** The `identified` this server answers with (`extra`: a resume's fields). */
  identified(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      action: 'identified',
      room_id: 'r',
      role: 'participant',
      sfu_ready: this.sfuReady,
      participant_id: `p_local${this.counter}`,
      participants: this.lobby ? [] : this.existing,
      ...(this.lobby ? { waiting: true, sfu_ready: false } : {}),
      ...(this.idleTimeout ? { idle_timeout: this.idleTimeout } : {}),
      ...extra,
    };
  }

  onClientMessage(ws: FakeWebSocket, message: Message): void {
    if (ws.closed) return;
    if (message.action === 'identify') {
      ws.deliver(this.identified());
    } else if (message.action === 'resume') {
      this.spent.push(message.refresh_token);
      if (this.resume === 'refuse') {
        ws.deliver({ action: 'error', code: 'unauthorized', message: 'this refresh credential is spent', ref: 'resume' });
        return;
      }
      this.issued += 1;
      ws.deliver(
        this.identified({
          resumed: this.resume === 'resumed',
          refresh_token: `p_local${this.counter}.next${this.issued}`,
          refresh_expires_at: 2000003600,
          session_expires_at: 2000043200,
        }),
      );
    } else if (message.action === 'refresh') {
      this.spent.push(message.refresh_token);
      this.issued += 1;
      ws.deliver({
        action: 'refreshed',
        refresh_token: `p_local${this.counter}.next${this.issued}`,
        refresh_expires_at: 2000003600,
      });
    } else if (message.action === 'keepalive') {
      if (this.answerKeepalive) ws.deliver({ action: 'keepalive_ack' });
    } else if (message.action === 'handshake' && message.connection === 'producer' && message.sdp && this.autoAnswer) {
      ws.deliver({ action: 'handshake', connection: 'producer', sdp: { type: 'answer', sdp: fakeSdp('sfu answer') } });
    }
  }

  environment(getUserMedia?: RoomEnvironment['getUserMedia']): Partial<RoomEnvironment> {
    const server = this;
    class WS extends FakeWebSocket {
      constructor(url: string) {
        super(url, server);
      }
    }
    return {
      fetch: this.fetch as unknown as typeof fetch,
      WebSocket: WS as unknown as RoomEnvironment['WebSocket'],
      RTCPeerConnection: FakePeerConnection as unknown as RoomEnvironment['RTCPeerConnection'],
      getUserMedia: getUserMedia ?? grantingGetUserMedia(),
      getDisplayMedia: this.getDisplayMedia as unknown as RoomEnvironment['getDisplayMedia'],
    };
  }
}

export class FakeWebSocket {
  readyState = 0;
  sent: string[] = [];
  closed = false;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(
    public url: string,
    private server: FakeServer,
  ) {
    server.sockets.push(this);
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.();
    }, 0);
  }
  send(data: string): void {
    this.sent.push(data);
    const message = parseMessage(data);
    setTimeout(() => this.server.onClientMessage(this, message), 0);
  }
  close(): void {
    this.closed = true;
    this.readyState = 3;
  }
  deliver(message: Record<string, unknown>): void {
    const validated = messageFromDict({ v: 1, ...message });
    this.onmessage?.({ data: encodeMessage(validated) });
  }
  messages(): Message[] {
    return this.sent.map((raw) => parseMessage(raw));
  }
  /** The server (or the network) closes this socket. */
  drop(): void {
    this.closed = true;
    this.readyState = 3;
    this.onclose?.();
  }
}

export function fakeStream(tracks: FakeTrack[]): MediaStream {
  return {
    getAudioTracks: () => tracks.filter((t) => t.kind === 'audio'),
    getVideoTracks: () => tracks.filter((t) => t.kind === 'video'),
  } as unknown as MediaStream;
}

export function grantingGetUserMedia() {
  return vi.fn(async (c: MediaStreamConstraints) => {
    const tracks: FakeTrack[] = [];
    if (c.audio) tracks.push(new FakeTrack('audio'));
    if (c.video) tracks.push(new FakeTrack('video'));
    return fakeStream(tracks);
  });
}

export function refusingGetUserMedia(refuse: 'both' | 'video' | 'audio' = 'both', name = 'NotAllowedError') {
  return vi.fn(async (c: MediaStreamConstraints) => {
    const wantsRefused = refuse === 'both' ? true : refuse === 'video' ? !!c.video : !!c.audio;
    if (wantsRefused) {
      const err = new Error('Permission denied');
      err.name = name;
      throw err;
    }
    const tracks: FakeTrack[] = [];
    if (c.audio) tracks.push(new FakeTrack('audio'));
    if (c.video) tracks.push(new FakeTrack('video'));
    return fakeStream(tracks);
  });
}

export function resetFakes(): void {
  FakePeerConnection.all = [];
}
