/**
 * The framework-free room: join over HTTP, signaling over WebSocket, one producer
 * RTCPeerConnection (sendonly audio + video + the `arbiter` data channel) and one consumer
 * RTCPeerConnection that carries every other participant's tracks (the SFU offers it
 * again as tracks come and go; each offer says which track each media section carries).
 * React hooks subscribe to it; nothing here imports React. The flow is docs/signaling.md.
 */
import { Emitter } from './emitter';
import { ArbiterError } from './errors';
import { isSpeaking } from './layout';
import {
  acquireMedia,
  mediaProblemError,
  withoutDevice,
  type GetUserMedia,
  type MediaProblem,
} from './media';
import {
  decodeBody,
  encodeMessage,
  makeMessage,
  parseMessage,
  ProtocolError,
  type DataMessage,
  type ErrorCode,
  type Handshake,
  type IceServer,
  type JoinResponse,
  type Message,
  type ParticipantInfo,
  type TrackInfo,
  type TrackSource,
} from './protocol';

/** Where a room is in its life. @public */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'failed';

/**
 * A participant as the UI sees it. Snapshots are immutable: a change makes a new object.
 * @public
 */
export interface Participant {
  id: string;
  name: string;
  isLocal: boolean;
  /** The audio track (local: the microphone; remote: what the SFU forwards). */
  audioTrack: MediaStreamTrack | null;
  /** The video track (local: the camera; remote: its camera, else its first video track). */
  videoTrack: MediaStreamTrack | null;
  /** Every track received from a remote participant (a screen beside the camera ...). */
  tracks: readonly RemoteTrackRef[];
  /** Microphone on (local), or as the remote participant's last `track_state` said (default true). */
  audioEnabled: boolean;
  /** Camera on (local), or as the remote participant's last `track_state` said (default true). */
  videoEnabled: boolean;
  /** Audio level above the speaking threshold, measured from WebRTC stats. */
  isSpeaking: boolean;
}

/** A track received from a remote participant, with what its publisher said of it. @public */
export interface RemoteTrackRef {
  /** The publisher's id for it (`camera`, `microphone`, `screen` ...). */
  id: string;
  kind: 'audio' | 'video';
  source: TrackSource;
  track: MediaStreamTrack;
}

/** The camera and microphone of a remote participant (else its first video/audio track). */
function mainTracks(tracks: readonly RemoteTrackRef[]): { audioTrack: MediaStreamTrack | null; videoTrack: MediaStreamTrack | null } {
  const pick = (kind: 'audio' | 'video', source: TrackSource) =>
    (tracks.find((t) => t.kind === kind && t.source === source) ?? tracks.find((t) => t.kind === kind))?.track ?? null;
  return { audioTrack: pick('audio', 'microphone'), videoTrack: pick('video', 'camera') };
}

/** One chat message (a `data` message with topic `chat`). @public */
export interface ChatMessage {
  id: string;
  senderId: string;
  senderName: string;
  text: string;
  timestamp: number;
  isLocal: boolean;
}

/** Application data received on the `arbiter` channel. @public */
export interface ReceivedData {
  senderId: string | null;
  data: string | Uint8Array;
  topic: string | null;
  id: string;
}

/** A remote track that arrived or went away. @public */
export interface TrackEvent {
  participant: Participant;
  track: MediaStreamTrack;
}

/** Everything a {@link Room} emits. @public */
export interface RoomEvents {
  connectionStateChanged: (state: ConnectionState) => void;
  participantsChanged: (participants: readonly Participant[]) => void;
  participantJoined: (participant: Participant) => void;
  participantLeft: (participant: Participant, reason: string) => void;
  trackSubscribed: (event: TrackEvent) => void;
  trackUnsubscribed: (event: TrackEvent) => void;
  chatChanged: (messages: readonly ChatMessage[]) => void;
  data: (data: ReceivedData) => void;
  mediaProblemsChanged: (problems: readonly MediaProblem[]) => void;
  error: (error: ArbiterError) => void;
  joined: (info: { roomId: string; participantId: string }) => void;
  left: (reason: string) => void;
}

/** What the room uses from the browser; every field can be replaced (tests do). @public */
export interface RoomEnvironment {
  fetch: typeof fetch;
  WebSocket: new (url: string) => WebSocket;
  RTCPeerConnection: new (config: RTCConfiguration) => RTCPeerConnection;
  getUserMedia: GetUserMedia;
}

/** Options of a {@link Room}. @public */
export interface RoomOptions {
  /** The room URL, e.g. `http://127.0.0.1:8080/rooms/demo`. */
  url: string;
  /** Display name (1..64 characters). Default `guest`. */
  name?: string;
  /** Start with the microphone on. Default true. */
  audio?: boolean;
  /** Start with the camera on. Default true. */
  video?: boolean;
  /** Seconds for the whole join before a `timeout` error. Default 20. */
  timeout?: number;
  /** Replace browser APIs (tests). */
  environment?: Partial<RoomEnvironment>;
}

/** Topic of chat messages on the data channel. @public */
export const CHAT_TOPIC = 'chat';

const SPEAKING_INTERVAL_MS = 300;
const ICE_GATHERING_TIMEOUT_MS = 5000;

function defaultEnvironment(): RoomEnvironment {
  const g = globalThis as unknown as Partial<RoomEnvironment> & {
    navigator?: Navigator;
  };
  return {
    fetch: (...args: Parameters<typeof fetch>) => globalThis.fetch(...args),
    WebSocket: g.WebSocket as RoomEnvironment['WebSocket'],
    RTCPeerConnection: g.RTCPeerConnection as RoomEnvironment['RTCPeerConnection'],
    getUserMedia: (constraints) => {
      const devices = g.navigator?.mediaDevices;
      if (!devices?.getUserMedia) {
        const err = new Error('this page cannot use cameras or microphones (needs HTTPS or localhost)');
        err.name = 'SecurityError';
        return Promise.reject(err);
      }
      return devices.getUserMedia(constraints);
    },
  };
}

/** `RTCIceServer`s from the join response (never undefined: an empty list is explicit). */
export function toRtcIceServers(servers: readonly IceServer[]): RTCIceServer[] {
  return servers.map((s) => {
    const out: RTCIceServer = { urls: [...s.urls] };
    if (s.username != null) out.username = s.username;
    if (s.credential != null) out.credential = s.credential;
    return out;
  });
}

/** Resolve when ICE gathering is complete (or after `timeoutMs`, with what was gathered). */
export function waitForIceGathering(pc: RTCPeerConnection, timeoutMs = ICE_GATHERING_TIMEOUT_MS): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = (): void => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** The room URL without a trailing slash, or an error for something that is not one. */
export function normaliseRoomUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url, (globalThis as { location?: Location }).location?.href);
  } catch {
    throw new ArbiterError('bad_url', `'${url}' is not a room URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ArbiterError('bad_url', `'${url}' is not an http(s) room URL`);
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

let idCounter = 0;
function newId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.randomUUID) return c.randomUUID().replace(/-/g, '');
  idCounter += 1;
  return `${Date.now().toString(36)}${idCounter}${Math.random().toString(36).slice(2, 10)}`;
}

/** One media section of the consumer connection and the track it carries now. */
interface Section {
  mid: string;
  track: MediaStreamTrack;
  info: TrackInfo | null;
}

interface Consumer {
  pc: RTCPeerConnection;
  queue: Promise<void>;
  sections: Map<string, Section>;
}

/**
 * One connection to an Arbiter room. Create it, `connect()`, and listen with `on`.
 *
 * @example
 * ```ts
 * const room = new Room({ url: 'http://127.0.0.1:8080/rooms/demo', name: 'Ada' });
 * room.on('participantsChanged', (ps) => render(ps));
 * await room.connect();
 * room.sendChat('hello');
 * await room.disconnect();
 * ```
 * @public
 */
export class Room extends Emitter<RoomEvents> {
  readonly url: string;
  readonly name: string;
  private readonly env: RoomEnvironment;
  private readonly wantAudio: boolean;
  private readonly wantVideo: boolean;
  private readonly timeoutMs: number;

  private state: ConnectionState = 'idle';
  private participantMap = new Map<string, Participant>();
  private participantList: readonly Participant[] = [];
  private chat: readonly ChatMessage[] = [];
  private problems: readonly MediaProblem[] = [];
  private localId: string | null = null;
  private roomIdValue: string | null = null;
  private join: JoinResponse | null = null;

  private ws: WebSocket | null = null;
  private producer: RTCPeerConnection | null = null;
  private channel: RTCDataChannel | null = null;
  private audioSender: RTCRtpSender | null = null;
  private videoSender: RTCRtpSender | null = null;
  private localAudio: MediaStreamTrack | null = null;
  private localVideo: MediaStreamTrack | null = null;
  private consumer: Consumer | null = null;
  private producerAnswered: (() => void) | null = null;
  private sfuReady: (() => void) | null = null;
  private connectPromise: Promise<void> | null = null;
  private speakingTimer: ReturnType<typeof setInterval> | null = null;
  private abort = new AbortController();
  private rejectClosed: (error: ArbiterError) => void = () => undefined;
  /** Rejects when the room is closed (left or failed): every wait while joining races it. */
  private readonly closed: Promise<never>;

  constructor(options: RoomOptions) {
    super();
    this.url = normaliseRoomUrl(options.url);
    this.name = options.name ?? 'guest';
    this.wantAudio = options.audio ?? true;
    this.wantVideo = options.video ?? true;
    this.timeoutMs = (options.timeout ?? 20) * 1000;
    this.env = { ...defaultEnvironment(), ...options.environment };
    this.closed = new Promise<never>((_, reject) => {
      this.rejectClosed = reject;
    });
    this.closed.catch(() => undefined);
  }

  private until<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.closed]);
  }

  // ------------------------------------------------------------------------------ state

  /** Where the room is in its life. */
  get connectionState(): ConnectionState {
    return this.state;
  }

  /** Everyone in the room, the local participant first (an immutable snapshot). */
  get participants(): readonly Participant[] {
    return this.participantList;
  }

  /** The local participant, once joined. */
  get localParticipant(): Participant | undefined {
    return this.localId ? this.participantMap.get(this.localId) : undefined;
  }

  /** The room id (from the join response). */
  get roomId(): string | null {
    return this.roomIdValue;
  }

  /** Chat so far (an immutable snapshot). */
  get chatMessages(): readonly ChatMessage[] {
    return this.chat;
  }

  /** Why the camera or microphone is not available, if it is not. */
  get mediaProblems(): readonly MediaProblem[] {
    return this.problems;
  }

  /** A participant by id. */
  getParticipant(id: string): Participant | undefined {
    return this.participantMap.get(id);
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('connectionStateChanged', state);
  }

  private putParticipant(p: Participant): void {
    this.participantMap.set(p.id, p);
    this.publishParticipants();
  }

  private updateParticipant(id: string, patch: Partial<Participant>): Participant | undefined {
    const old = this.participantMap.get(id);
    if (!old) return undefined;
    const changed = (Object.keys(patch) as (keyof Participant)[]).some((k) => old[k] !== patch[k]);
    if (!changed) return old;
    const next = { ...old, ...patch };
    this.putParticipant(next);
    return next;
  }

  private publishParticipants(): void {
    const all = [...this.participantMap.values()];
    const local = all.filter((p) => p.isLocal);
    this.participantList = [...local, ...all.filter((p) => !p.isLocal)];
    this.emit('participantsChanged', this.participantList);
  }

  private addRemote(info: ParticipantInfo): Participant {
    const existing = this.participantMap.get(info.id);
    if (existing) {
      return this.updateParticipant(info.id, { name: info.name }) ?? existing;
    }
    const p: Participant = {
      id: info.id,
      name: info.name,
      isLocal: false,
      audioTrack: null,
      videoTrack: null,
      tracks: [],
      audioEnabled: true,
      videoEnabled: true,
      isSpeaking: false,
    };
    this.putParticipant(p);
    this.emit('participantJoined', p);
    return p;
  }

  // ---------------------------------------------------------------------------- joining

  /**
   * Join: ask for the camera/microphone, `POST {url}/join`, identify over signaling,
   * publish. Resolves once the producer is answered and its data channel is open. Calling it again returns the
   * same promise; a room is used once.
   */
  connect(): Promise<void> {
    if (!this.connectPromise) {
      this.connectPromise = this.doConnect();
      this.connectPromise.catch(() => undefined);
    }
    return this.connectPromise;
  }

  private async doConnect(): Promise<void> {
    if (this.state !== 'idle') throw new ArbiterError('connection_lost', 'this room was already used');
    this.setState('connecting');
    const timer = setTimeout(
      () => this.fail(new ArbiterError('timeout', `joining took longer than ${this.timeoutMs / 1000} s`)),
      this.timeoutMs,
    );
    try {
      const acquiring = acquireMedia(this.env.getUserMedia, { audio: this.wantAudio, video: this.wantVideo });
      const [media, join] = await this.until(Promise.all([acquiring, this.requestJoin()])).catch(
        async (exc: unknown) => {
          // whatever was acquired must not keep the camera light on
          acquiring.then((m) => {
            m.audio?.stop();
            m.video?.stop();
          }, () => undefined);
          throw exc;
        },
      );
      if (this.isClosed()) {
        media.audio?.stop();
        media.video?.stop();
        throw this.closedError();
      }
      this.localAudio = media.audio;
      this.localVideo = media.video;
      this.setProblems(media.problems);
      for (const problem of media.problems) this.emit('error', mediaProblemError(problem));
      this.join = join;
      this.roomIdValue = join.room_id;
      this.localId = join.participant_id;
      this.putParticipant({
        id: join.participant_id,
        name: this.name,
        isLocal: true,
        audioTrack: media.audio,
        videoTrack: media.video,
        tracks: [],
        audioEnabled: media.audio !== null,
        videoEnabled: media.video !== null,
        isSpeaking: false,
      });
      await this.until(this.openSignaling(join));
      await this.until(this.startProducer());
      if (this.isClosed()) throw this.closedError();
      this.setState('connected');
      this.startSpeakingMonitor();
      this.emit('joined', { roomId: join.room_id, participantId: join.participant_id });
    } catch (exc) {
      const error = toArbiterError(exc);
      this.fail(error);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private isClosed(): boolean {
    return this.state === 'disconnected' || this.state === 'failed';
  }

  private closedError(): ArbiterError {
    return new ArbiterError('connection_lost', 'the room was closed while joining');
  }

  private async requestJoin(): Promise<JoinResponse> {
    let response: Response;
    try {
      response = await this.env.fetch(`${this.url}/join`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ name: this.name }),
        signal: this.abort.signal,
      });
    } catch (exc) {
      throw new ArbiterError('network_error', `could not reach ${this.url}: ${(exc as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) {
      let code: ErrorCode | 'network_error' = 'network_error';
      let message = `joining failed with HTTP ${response.status}`;
      try {
        const body = JSON.parse(text) as { error?: unknown };
        const err = decodeBody('ErrorBody', JSON.stringify(body.error ?? {}));
        code = err.code as ErrorCode;
        message = err.message;
      } catch {
        // not an Arbiter error body: keep the HTTP status message
      }
      throw new ArbiterError(code, message, response.status);
    }
    return decodeBody('JoinResponse', text);
  }

  private openSignaling(join: JoinResponse): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let identified = false;
      const ws = new this.env.WebSocket(join.signaling_url);
      this.ws = ws;
      ws.onopen = () => this.send(makeMessage('identify', { token: join.token }));
      ws.onerror = () => {
        if (!identified) reject(new ArbiterError('network_error', 'could not connect to signaling'));
      };
      ws.onclose = () => {
        if (!identified) {
          reject(new ArbiterError('connection_lost', 'signaling closed before identifying'));
        } else if (!this.isClosed()) {
          this.fail(new ArbiterError('connection_lost', 'the signaling connection was lost'));
        }
      };
      ws.onmessage = (event: MessageEvent) => {
        let message: Message;
        try {
          message = parseMessage(typeof event.data === 'string' ? event.data : String(event.data));
        } catch (exc) {
          console.warn('arbiter: ignoring a bad signaling message', exc);
          return;
        }
        if (!identified) {
          if (message.action === 'identified') {
            identified = true;
            for (const p of message.participants) if (p.id !== this.localId) this.addRemote(p);
            if (message.sfu_ready) resolve();
            else this.sfuReady = resolve;
            return;
          }
          if (message.action === 'error') {
            reject(new ArbiterError(message.code as ErrorCode, message.message));
            return;
          }
        }
        this.onSignal(message);
      };
    });
  }

  private send(message: Message): void {
    const ws = this.ws;
    if (ws && ws.readyState === 1) ws.send(encodeMessage(message));
  }

  private onSignal(message: Message): void {
    switch (message.action) {
      case 'sfu_ready': {
        const ready = this.sfuReady;
        this.sfuReady = null;
        ready?.();
        return;
      }
      case 'participant_joined':
        if (message.participant.id !== this.localId) this.addRemote(message.participant);
        return;
      case 'participant_left':
        this.removeRemote(message.participant_id, message.reason);
        return;
      case 'handshake':
        if (message.connection === 'producer') this.onProducerHandshake(message);
        else this.onConsumerHandshake(message);
        return;
      case 'error':
        console.warn(`arbiter: signaling error ${message.code}: ${message.message}`);
        this.emit('error', new ArbiterError(message.code as ErrorCode, message.message));
        return;
      default:
        return;
    }
  }

  // --------------------------------------------------------------------------- producer

  private rtcConfig(): RTCConfiguration {
    return { iceServers: toRtcIceServers(this.join?.ice_servers ?? []) };
  }

  private async startProducer(): Promise<void> {
    const pc = new this.env.RTCPeerConnection(this.rtcConfig());
    this.producer = pc;
    const stream = typeof MediaStream !== 'undefined' ? new MediaStream() : null;
    const streams = stream ? [stream] : [];
    const audio = pc.addTransceiver(this.localAudio ?? 'audio', { direction: 'sendonly', streams });
    const video = pc.addTransceiver(this.localVideo ?? 'video', { direction: 'sendonly', streams });
    this.audioSender = audio.sender;
    this.videoSender = video.sender;
    const channel = pc.createDataChannel('arbiter');
    this.channel = channel;
    channel.onmessage = (event: MessageEvent) => this.onChannelMessage(event.data);
    const opened = new Promise<void>((resolve) => {
      channel.onopen = () => {
        resolve();
        this.announceTrackState();
      };
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed' && !this.isClosed()) {
        this.fail(new ArbiterError('webrtc_error', 'the media connection to the server failed'));
      }
    });
    const answered = new Promise<void>((resolve) => {
      this.producerAnswered = resolve;
    });
    await pc.setLocalDescription(await pc.createOffer());
    await this.until(waitForIceGathering(pc));
    const local = pc.localDescription;
    if (!local || this.isClosed()) throw this.closedError();
    const tracks: TrackInfo[] = [
      { id: 'microphone', kind: 'audio', source: 'microphone', mid: audio.mid },
      { id: 'camera', kind: 'video', source: 'camera', mid: video.mid },
    ];
    this.send(
      makeMessage('handshake', {
        connection: 'producer',
        sdp: { type: 'offer', sdp: local.sdp },
        tracks,
      }),
    );
    await answered;
    await opened; // 'connected' means chat works too
  }

  private onProducerHandshake(message: Handshake): void {
    const pc = this.producer;
    if (!pc) return;
    if (message.sdp) {
      if (message.sdp.type !== 'answer') return;
      pc.setRemoteDescription({ type: 'answer', sdp: message.sdp.sdp }).then(
        () => {
          const answered = this.producerAnswered;
          this.producerAnswered = null;
          answered?.();
        },
        (exc: unknown) => this.fail(new ArbiterError('webrtc_error', `bad producer answer: ${String(exc)}`)),
      );
    } else if (message.candidate) {
      pc.addIceCandidate(message.candidate).catch((exc: unknown) =>
        console.warn('arbiter: producer candidate refused', exc),
      );
    }
  }

  // -------------------------------------------------------------------------- consumers

  private onConsumerHandshake(message: Handshake): void {
    if (this.isClosed()) return;
    let consumer = this.consumer;
    if (!consumer) {
      if (!message.sdp) return; // a candidate for a consumer we never had
      consumer = this.newConsumer();
    }
    const c = consumer;
    c.queue = c.queue
      .then(async () => {
        if (message.sdp) {
          if (message.sdp.type !== 'offer') return;
          await c.pc.setRemoteDescription({ type: 'offer', sdp: message.sdp.sdp });
          await c.pc.setLocalDescription(await c.pc.createAnswer());
          // each section's new track before the answer goes out: media the SFU sends once
          // it has the answer must find its owner
          this.assignSections(c, message.tracks ?? []);
          await waitForIceGathering(c.pc);
          const answer = c.pc.localDescription;
          if (!answer || this.consumer !== c) return;
          this.send(makeMessage('handshake', { connection: 'consumer', sdp: { type: 'answer', sdp: answer.sdp } }));
        } else if (message.candidate) {
          await c.pc.addIceCandidate(message.candidate);
        }
      })
      .catch((exc: unknown) => {
        console.warn('arbiter: consumer handshake failed', exc);
        this.emit('error', new ArbiterError('webrtc_error', `receiving media failed: ${String(exc)}`));
      });
  }

  private newConsumer(): Consumer {
    const pc = new this.env.RTCPeerConnection(this.rtcConfig());
    const consumer: Consumer = { pc, queue: Promise.resolve(), sections: new Map() };
    this.consumer = consumer;
    return consumer;
  }

  /** Give each media section the track the latest offer says it carries. */
  private assignSections(consumer: Consumer, tracks: readonly TrackInfo[]): void {
    const carried = new Map(tracks.filter((t) => t.mid && t.participant_id).map((t) => [t.mid as string, t]));
    for (const transceiver of consumer.pc.getTransceivers()) {
      const mid = transceiver.mid;
      const track = transceiver.receiver?.track;
      if (!mid || !track || consumer.sections.has(mid)) continue;
      consumer.sections.set(mid, { mid, track, info: null });
    }
    for (const section of consumer.sections.values()) {
      const info = carried.get(section.mid) ?? null;
      const old = section.info;
      if (old && info && old.participant_id === info.participant_id && old.id === info.id) continue;
      if (old?.participant_id) this.dropTrack(old.participant_id, section.track, old.id);
      section.info = info;
      if (!info?.participant_id) continue;
      this.addTrack(info.participant_id, section.track, info);
    }
  }

  private addTrack(participantId: string, track: MediaStreamTrack, info: TrackInfo): void {
    if (!this.participantMap.has(participantId)) this.addRemote({ id: participantId, name: participantId });
    const old = this.participantMap.get(participantId);
    if (!old) return;
    const others = old.tracks.filter((t) => t.id !== info.id);
    const tracks = [...others, { id: info.id, kind: info.kind, source: info.source, track }];
    const p = this.updateParticipant(participantId, { tracks, ...mainTracks(tracks) });
    if (p) this.emit('trackSubscribed', { participant: p, track });
  }

  private dropTrack(participantId: string, track: MediaStreamTrack, trackId?: string): void {
    const p = this.participantMap.get(participantId);
    if (!p) return;
    const tracks = p.tracks.filter((t) => t.track !== track && (trackId === undefined || t.id !== trackId));
    if (tracks.length === p.tracks.length) return;
    const next = this.updateParticipant(participantId, { tracks, ...mainTracks(tracks) });
    if (next) this.emit('trackUnsubscribed', { participant: next, track });
  }

  private closeConsumer(): void {
    const c = this.consumer;
    if (!c) return;
    this.consumer = null;
    for (const section of c.sections.values()) {
      if (section.info?.participant_id) this.dropTrack(section.info.participant_id, section.track, section.info.id);
    }
    c.pc.close();
  }

  private removeRemote(id: string, reason: string): void {
    const p = this.participantMap.get(id);
    for (const t of p?.tracks ?? []) this.dropTrack(id, t.track, t.id);
    for (const section of this.consumer?.sections.values() ?? []) {
      if (section.info?.participant_id === id) section.info = null; // the SFU stops it
    }
    if (!p || p.isLocal) return;
    this.participantMap.delete(id);
    this.publishParticipants();
    this.emit('participantLeft', p, reason);
  }

  // ------------------------------------------------------------------------------- data

  private onChannelMessage(raw: unknown): void {
    const text =
      typeof raw === 'string' ? raw : raw instanceof ArrayBuffer ? new TextDecoder().decode(raw) : null;
    if (text === null) return;
    let message: Message;
    try {
      message = parseMessage(text, ['data', 'track_state', 'error']);
    } catch (exc) {
      console.warn('arbiter: ignoring a bad data channel message', exc);
      return;
    }
    if (message.action === 'error') {
      this.emit('error', new ArbiterError(message.code as ErrorCode, message.message));
      return;
    }
    if (message.action === 'track_state') {
      if (message.sender) {
        this.updateParticipant(
          message.sender,
          message.kind === 'audio' ? { audioEnabled: !message.muted } : { videoEnabled: !message.muted },
        );
      }
      return;
    }
    if (message.action === 'data') this.onData(message);
  }

  private onData(message: DataMessage): void {
    const senderId = message.sender ?? null;
    let data: string | Uint8Array = message.data;
    if (message.kind === 'bytes') {
      try {
        data = Uint8Array.from(atob(message.data), (ch) => ch.charCodeAt(0));
      } catch {
        return;
      }
    }
    if (message.topic === CHAT_TOPIC && typeof data === 'string') {
      const sender = senderId ? this.participantMap.get(senderId) : undefined;
      this.addChat({
        id: message.id,
        senderId: senderId ?? '',
        senderName: sender?.name ?? senderId ?? 'unknown',
        text: data,
        timestamp: Date.now(),
        isLocal: false,
      });
    }
    this.emit('data', { senderId, data, topic: message.topic ?? null, id: message.id });
  }

  private addChat(message: ChatMessage): void {
    if (this.chat.some((m) => m.id === message.id && m.senderId === message.senderId)) return;
    this.chat = [...this.chat, message];
    this.emit('chatChanged', this.chat);
  }

  /**
   * Send data to everyone else (or to `to`) on the `arbiter` data channel.
   * Throws {@link ArbiterError} if the channel is not open, {@link ProtocolError} if the
   * message breaks the protocol's limits.
   */
  sendData(data: string | Uint8Array, options: { topic?: string; to?: string[] } = {}): string {
    const channel = this.channel;
    if (!channel || channel.readyState !== 'open') {
      throw new ArbiterError('connection_lost', 'cannot send: the data channel is not open');
    }
    const id = newId();
    const isText = typeof data === 'string';
    const message = makeMessage('data', {
      kind: isText ? 'text' : 'bytes',
      data: isText ? data : btoa(String.fromCharCode(...data)),
      id,
      to: options.to ?? null,
      topic: options.topic ?? null,
    });
    channel.send(encodeMessage(message));
    return id;
  }

  /** Send a chat message to everyone (also added to the local chat log). */
  sendChat(text: string): ChatMessage {
    const trimmed = text.trim();
    if (!trimmed) throw new ProtocolError('invalid_message', 'a chat message cannot be empty');
    const id = this.sendData(trimmed, { topic: CHAT_TOPIC });
    const message: ChatMessage = {
      id,
      senderId: this.localId ?? '',
      senderName: this.name,
      text: trimmed,
      timestamp: Date.now(),
      isLocal: true,
    };
    this.addChat(message);
    return message;
  }

  /** Tell the others (through the SFU, which repeats it to late joiners) our mute state. */
  private announceTrackState(kinds: readonly ('audio' | 'video')[] = ['audio', 'video']): void {
    const local = this.localParticipant;
    const channel = this.channel;
    if (!local || !channel || channel.readyState !== 'open') return;
    for (const kind of kinds) {
      const muted = kind === 'audio' ? !local.audioEnabled : !local.videoEnabled;
      channel.send(encodeMessage(makeMessage('track_state', { kind, muted })));
    }
  }

  // ------------------------------------------------------------------------ local media

  private setProblems(problems: readonly MediaProblem[]): void {
    this.problems = problems;
    this.emit('mediaProblemsChanged', problems);
  }

  /**
   * Turn the microphone on or off. Turning it on asks for it if the room has no
   * microphone yet (e.g. permission was refused at join); resolves to the new state.
   */
  setMicrophoneEnabled(enabled: boolean): Promise<boolean> {
    return this.setEnabled('audio', enabled);
  }

  /** Turn the camera on or off (see {@link Room.setMicrophoneEnabled}). */
  setCameraEnabled(enabled: boolean): Promise<boolean> {
    return this.setEnabled('video', enabled);
  }

  private async setEnabled(kind: 'audio' | 'video', enabled: boolean): Promise<boolean> {
    const local = this.localParticipant;
    if (!local) return false;
    let track = kind === 'audio' ? this.localAudio : this.localVideo;
    if (enabled && (!track || track.readyState === 'ended')) {
      const got = await acquireMedia(this.env.getUserMedia, { audio: kind === 'audio', video: kind === 'video' });
      const device = kind === 'audio' ? 'microphone' : 'camera';
      this.setProblems([...withoutDevice(this.problems, device), ...got.problems]);
      for (const problem of got.problems) this.emit('error', mediaProblemError(problem));
      track = got[kind];
      if (!track || this.isClosed()) {
        track?.stop();
        return false;
      }
      if (kind === 'audio') this.localAudio = track;
      else this.localVideo = track;
      const sender = kind === 'audio' ? this.audioSender : this.videoSender;
      await sender?.replaceTrack(track);
      this.updateParticipant(local.id, kind === 'audio' ? { audioTrack: track } : { videoTrack: track });
    }
    if (!track) return false;
    track.enabled = enabled;
    this.updateParticipant(local.id, kind === 'audio' ? { audioEnabled: enabled } : { videoEnabled: enabled });
    this.announceTrackState([kind]);
    return enabled;
  }

  // --------------------------------------------------------------------------- speaking

  private startSpeakingMonitor(): void {
    if (this.speakingTimer) return;
    this.speakingTimer = setInterval(() => void this.measureSpeaking(), SPEAKING_INTERVAL_MS);
  }

  private async measureSpeaking(): Promise<void> {
    const levels = new Map<string, number>();
    const read = async (id: string, pc: RTCPeerConnection, type: string): Promise<void> => {
      try {
        const stats = await pc.getStats();
        stats.forEach((s: { type?: string; kind?: string; audioLevel?: number }) => {
          if (s.type === type && s.kind === 'audio' && typeof s.audioLevel === 'number') {
            levels.set(id, Math.max(levels.get(id) ?? 0, s.audioLevel));
          }
        });
      } catch {
        // closed meanwhile
      }
    };
    const jobs: Promise<void>[] = [];
    const local = this.localParticipant;
    if (local && this.producer && local.audioEnabled) jobs.push(read(local.id, this.producer, 'media-source'));
    if (this.consumer) jobs.push(this.readConsumerLevels(this.consumer, levels));
    await Promise.all(jobs);
    if (this.isClosed()) return;
    for (const p of this.participantList) {
      const level = p.audioEnabled ? (levels.get(p.id) ?? 0) : 0;
      this.updateParticipant(p.id, { isSpeaking: isSpeaking(level, p.isSpeaking) });
    }
  }

  /** The audio level of each section's owner, from its receiver's stats. */
  private async readConsumerLevels(consumer: Consumer, levels: Map<string, number>): Promise<void> {
    const jobs = consumer.pc.getTransceivers().map(async (t) => {
      const section = t.mid ? consumer.sections.get(t.mid) : undefined;
      const owner = section?.info?.participant_id;
      if (!owner || section.track.kind !== 'audio') return;
      try {
        const stats = await t.receiver.getStats();
        stats.forEach((s: { type?: string; audioLevel?: number }) => {
          if (s.type === 'inbound-rtp' && typeof s.audioLevel === 'number') {
            levels.set(owner, Math.max(levels.get(owner) ?? 0, s.audioLevel));
          }
        });
      } catch {
        // closed meanwhile
      }
    });
    await Promise.all(jobs);
  }

  // ---------------------------------------------------------------------------- leaving

  /** Leave the room: tell the server, close every connection, stop the camera/microphone. */
  async disconnect(reason = 'left'): Promise<void> {
    if (this.isClosed()) return;
    this.send(makeMessage('leave', {}));
    this.teardown();
    this.setState('disconnected');
    this.emit('left', reason);
  }

  private fail(error: ArbiterError): void {
    if (this.isClosed()) return;
    this.rejectClosed(error);
    this.teardown();
    this.setState('failed');
    this.emit('error', error);
    this.emit('left', error.code);
  }

  private teardown(): void {
    this.rejectClosed(
      this.state === 'connecting' ? this.closedError() : new ArbiterError('connection_lost', 'the room is closed'),
    );
    this.abort.abort();
    if (this.speakingTimer) clearInterval(this.speakingTimer);
    this.speakingTimer = null;
    this.closeConsumer();
    this.channel?.close();
    this.channel = null;
    this.producer?.close();
    this.producer = null;
    this.localAudio?.stop();
    this.localVideo?.stop();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.onerror = null;
      try {
        ws.close(1000, 'left');
      } catch {
        // already closed
      }
    }
    this.sfuReady = null;
    this.producerAnswered = null;
  }
}

function toArbiterError(exc: unknown): ArbiterError {
  if (exc instanceof ArbiterError) return exc;
  if (exc instanceof ProtocolError) return new ArbiterError(exc.code, `the server sent an invalid reply: ${exc.message}`);
  return new ArbiterError('webrtc_error', exc instanceof Error ? exc.message : String(exc));
}
