/**
 * The framework-free room: a facade over its parts, each with one job. The
 * {@link Session} joins and routes signaling, the {@link Producer} carries this
 * browser's camera, microphone and the `arbiter` data channel, the {@link Consumers}
 * receive everyone else, the {@link Roster} keeps the participant snapshots. React hooks
 * subscribe to the room; nothing here imports React. The flow is docs/signaling.md.
 */
import { Consumers } from './consumers.js';
import { dataMessage, readChannelMessage, receivedData } from './data.js';
import { Emitter } from './emitter.js';
import { ArbiterError } from './errors.js';
import { MediaLink } from './link.js';
import { LocalMedia } from './local-media.js';
import { acquireMedia, mediaProblemError, type MediaProblem } from './media.js';
import {
  CHAT_TOPIC,
  makeMessage,
  ProtocolError,
  type Identified,
} from './protocol/index.js';
import { applyTrackState, mayPublish, Moderation } from './moderation.js';
import { Producer } from './producer.js';
import { Roster } from './roster.js';
import { toRtcIceServers } from './rtc.js';
import { normaliseRoomUrl, Session } from './session.js';
import { Wishes, type SubscriptionOptions } from './wishes.js';
import type { DeviceKind } from './devices.js';
import {
  defaultEnvironment,
  type ActiveDevices,
  type ChatMessage,
  type ConnectionState,
  type Participant,
  type ReceivedData,
  type RemovedInfo,
  type RoomEnvironment,
  type RoomEvents,
  type RoomOptions,
} from './types.js';

export { CHAT_TOPIC } from './protocol/index.js';
export { toRtcIceServers, waitForIceGathering } from './rtc.js';
export { normaliseRoomUrl } from './session.js';
export type {
  ActiveDevices,
  ChatMessage,
  ConnectionState,
  Participant,
  ReceivedData,
  RemovedInfo,
  RoomEnvironment,
  RoomEvents,
  RoomOptions,
  TrackEvent,
  WaitingParticipant,
} from './types.js';

let idCounter = 0;
function newId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.randomUUID) return c.randomUUID().replace(/-/g, '');
  idCounter += 1;
  return `${Date.now().toString(36)}${idCounter}${Math.random().toString(36).slice(2, 10)}`;
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
  /** The display name (the grant's, once joined with a token). */
  name: string;
  private readonly env: RoomEnvironment;
  private readonly wantAudio: boolean;
  private readonly wantVideo: boolean;
  private readonly timeoutMs: number;
  private readonly reconnectTimeoutMs: number;

  private state: ConnectionState = 'idle';
  private chat: readonly ChatMessage[] = [];
  private roomIdValue: string | null = null;
  private iceServers: RTCIceServer[] = [];
  private connectPromise: Promise<void> | null = null;
  private readonly wishes = new Wishes();
  private readonly abort = new AbortController();
  private readonly roster: Roster;
  private readonly session: Session;
  private readonly consumers: Consumers;
  /** Roles in the room: `isModerator`, the lobby, why this one was removed, the actions. */
  readonly moderation: Moderation;
  private readonly link: MediaLink;
  private readonly media: LocalMedia;
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
    this.reconnectTimeoutMs = (options.reconnectTimeout ?? 30) * 1000;
    this.env = { ...defaultEnvironment(), ...options.environment };
    this.closed = new Promise<never>((_, reject) => {
      this.rejectClosed = reject;
    });
    this.closed.catch(() => undefined);
    this.roster = new Roster((event, ...args) => this.emit(event, ...args));
    this.session = new Session(this.url, this.name, this.env, this.abort.signal, this.reconnectTimeoutMs, options.token);
    this.moderation = new Moderation((m) => this.session.send(m), (event, ...args) => this.emit(event, ...args));
    const policy = options.iceTransportPolicy ?? 'all';
    this.consumers = new Consumers(this.env, () => ({ iceServers: this.iceServers, iceTransportPolicy: policy }), {
      send: (message) => this.session.send(message),
      onTrack: (info, track) => this.roster.addTrack(info, track),
      onTrackEnded: (info, track) => this.roster.dropTrack(info, track),
      onError: (error) => this.emit('error', error),
    });
    this.link = new MediaLink(
      this.consumers,
      {
        createProducer: (onFailed) =>
          new Producer(
            this.env,
            { iceServers: this.iceServers, iceTransportPolicy: policy },
            { audio: this.media.audio, video: this.media.video, media: this.moderation.canPublish },
            { onMessage: (raw) => this.onChannelMessage(raw), onOpen: () => this.media.announce(), onFailed },
          ),
        send: (message) => this.session.send(message),
        until: (promise) => this.until(promise),
        joining: () => this.state === 'connecting',
        closed: () => this.isClosed(),
        down: () => this.setState('reconnecting'),
        settled: () => {
          this.media.shareScreenAgain();
          this.settled();
        },
        fail: (error) => this.fail(error),
      },
      this.reconnectTimeoutMs,
    );
    this.media = new LocalMedia(
      {
        env: this.env,
        roster: this.roster,
        link: this.link,
        emit: (event, ...args) => this.emit(event, ...args),
        send: (message) => this.session.send(message),
        until: (promise) => this.until(promise),
        closed: () => this.isClosed(),
        canPublish: () => this.moderation.canPublish,
      },
      options.devices,
    );
    this.session.route('sfu_ready', () => {
      // joining, or publishing again once the SFU is back; else a new SFU mid-call
      if (this.link.sfuReady()) return;
      if (this.state === 'connected' || this.state === 'reconnecting') this.link.restart('the room has a new SFU');
    });
    this.session.route('participant_joined', (m) => {
      if (m.participant.id !== this.roster.localId) this.roster.addRemote(m.participant);
    });
    this.session.route('participant_updated', (m) => {
      this.roster.updateInfo(m.participant);
    });
    this.session.route('participant_left', (m) => {
      const gone = this.roster.get(m.participant_id);
      if (m.reason === 'removed' && gone) this.emit('participantRemoved', gone, m.by ?? null);
      this.consumers.forget(m.participant_id);
      this.wishes.forget(m.participant_id);
      this.roster.removeRemote(m.participant_id, m.reason);
    });
    this.session.route('lobby', (m) => this.moderation.onLobby(m));
    this.session.route('removed', (m) => this.onRemoved(this.moderation.onRemoved(m)));
    this.session.route('handshake', (m) => {
      if (m.connection === 'producer') this.link.producer?.onHandshake(m);
      else if (!this.isClosed()) this.consumers.onHandshake(m);
    });
    this.session.route('error', (m) => {
      console.warn(`arbiter: signaling error ${m.code}: ${m.message}`);
      const error = new ArbiterError(m.code as ArbiterError['code'], m.message);
      // an offer that found no SFU: published again after the SFU's sfu_ready
      if (m.code === 'sfu_unavailable' && m.ref === 'handshake') this.link.refused(error);
      this.emit('error', error);
    });
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
    return this.roster.participants;
  }

  /** The local participant, once joined. */
  get localParticipant(): Participant | undefined {
    return this.roster.local;
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
    return this.media.problems;
  }

  /** A participant by id. */
  getParticipant(id: string): Participant | undefined {
    return this.roster.get(id);
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('connectionStateChanged', state);
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
    const expire = () => this.fail(new ArbiterError('timeout', `joining took longer than ${this.timeoutMs / 1000} s`));
    let timer = setTimeout(expire, this.timeoutMs);
    let waited = false;
    try {
      const acquiring = acquireMedia(
        this.env.getUserMedia,
        { audio: this.wantAudio, video: this.wantVideo },
        this.media.devices,
      );
      const [media, join] = await this.until(Promise.all([acquiring, this.session.join()])).catch(
        async (exc: unknown) => {
          // whatever was acquired must not keep the camera light on
          acquiring.then((m) => {
            m.audio?.stop();
            m.video?.stop();
          }, () => undefined);
          throw exc;
        },
      );
      const viewer = !mayPublish(join.grants); // a viewer's grant: join receiving only
      if (this.isClosed() || viewer) {
        media.audio?.stop();
        media.video?.stop();
        if (this.isClosed()) throw this.closedError();
      }
      this.media.audio = viewer ? null : media.audio;
      this.media.video = viewer ? null : media.video;
      this.media.setProblems(viewer ? [] : media.problems);
      for (const problem of this.media.problems) this.emit('error', mediaProblemError(problem));
      this.roomIdValue = join.room_id;
      this.moderation.grants = join.grants ?? [];
      this.moderation.canPublish = !viewer;
      if (join.name) this.name = join.name;
      this.iceServers = toRtcIceServers(join.ice_servers);
      this.roster.localId = join.participant_id;
      this.roster.put({
        id: join.participant_id,
        name: this.name,
        isLocal: true,
        audioTrack: this.media.audio,
        videoTrack: this.media.video,
        screenTrack: null,
        tracks: [],
        audioEnabled: this.media.audio !== null,
        videoEnabled: this.media.video !== null,
        screenEnabled: true,
        isSpeaking: false,
        handRaised: false,
      });
      const sfuReady = this.link.waitForSfu();
      await this.until(
        this.session.open(
          join,
          (identified) => {
            for (const p of identified.participants) if (p.id !== this.roster.localId) this.roster.addRemote(p);
            if (identified.sfu_ready) this.link.sfuReady();
          },
          {
            mayResume: () => this.state === 'connected' || this.state === 'reconnecting',
            onLost: () => this.setState('reconnecting'),
            onResumed: (identified) => this.resumed(identified),
            onFailed: (error) => this.fail(error),
            onIceServers: (servers) => {
              this.iceServers = toRtcIceServers(servers);
            },
            onWaiting: () => {
              // in the lobby: no join timeout while a moderator decides
              clearTimeout(timer);
              waited = true;
              this.setState('waiting');
            },
          },
        ),
      );
      if (waited) {
        this.setState('connecting');
        timer = setTimeout(expire, this.timeoutMs);
      }
      await this.until(sfuReady);
      await this.until(this.link.publish());
      if (this.isClosed()) throw this.closedError();
      this.setState('connected');
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
    return this.state === 'disconnected' || this.state === 'failed' || this.state === 'removed';
  }

  /** The server ended this participant's session: close everything, show why. */
  private onRemoved(info: RemovedInfo): void {
    if (this.isClosed()) return;
    const denied = info.reason === 'denied';
    this.rejectClosed(new ArbiterError('denied', denied ? 'a moderator did not admit you' : `you were ${info.reason}`));
    this.teardown();
    this.setState('removed');
    this.emit('removed', info);
    this.emit('left', info.reason);
  }

  private closedError(): ArbiterError {
    return new ArbiterError('connection_lost', 'the room was closed while joining');
  }

  // --------------------------------------------------------------------- staying joined

  /** Signaling is back on a new socket: catch up on who came and went meanwhile. */
  private resumed(identified: Identified): void {
    const present = new Map(
      identified.participants.filter((p) => p.id !== this.roster.localId).map((p) => [p.id, p]),
    );
    for (const p of this.roster.participants) {
      if (!p.isLocal && !present.has(p.id)) {
        this.consumers.forget(p.id);
        this.roster.removeRemote(p.id, 'left'); // left while we were away
      }
    }
    for (const info of present.values()) this.roster.addRemote(info);
    if (!identified.resumed) {
      // the server had dropped us: set the media up again (once the SFU is there)
      if (identified.sfu_ready) this.link.restart('rejoined as a new session');
      else this.link.lost('rejoined while the SFU is away');
    }
    // resumed while the SFU is not ready: its own socket is away (our media is fine), or
    // a new SFU is starting, whose sfu_ready restarts the media
    this.settled();
  }

  /** Back to `connected` once both signaling and media are up again. */
  private settled(): void {
    if (this.state === 'reconnecting' && !this.link.down && !this.session.isReconnecting) this.setState('connected');
  }

  // ------------------------------------------------------------------------------- data

  private onChannelMessage(raw: unknown): void {
    const message = readChannelMessage(raw);
    if (!message) return;
    if (message.action === 'error') {
      this.emit('error', new ArbiterError(message.code as ArbiterError['code'], message.message));
    } else if (message.action === 'track_state') {
      applyTrackState(this.roster, message, (kind) => (kind === 'audio' ? this.media.audio : this.media.video));
    } else if (message.action === 'active_speakers') {
      this.roster.setSpeakers(message.speakers);
    } else if (message.action === 'data') {
      const received = receivedData(message);
      if (received) this.onData(received);
    } else if (message.action === 'layers') {
      this.link.producer?.setLayers(message.track_id, message.active).catch((exc: unknown) => {
        console.warn('arbiter: could not change the simulcast layers', exc);
      });
    }
  }

  private onData(received: ReceivedData): void {
    const { senderId, data } = received;
    if (received.topic === CHAT_TOPIC && typeof data === 'string') {
      const sender = senderId ? this.roster.get(senderId) : undefined;
      const senderName = sender?.name ?? senderId ?? 'unknown';
      this.addChat({ id: received.id, senderId: senderId ?? '', senderName, text: data, timestamp: Date.now(), isLocal: false });
    }
    this.emit('data', received);
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
    const producer = this.link.producer;
    if (!producer || !producer.open) {
      throw new ArbiterError('connection_lost', 'cannot send: the data channel is not open');
    }
    const id = newId();
    producer.send(dataMessage(id, data, options));
    return id;
  }

  /** Send a chat message to everyone (also added to the local chat log). */
  sendChat(text: string): ChatMessage {
    const trimmed = text.trim();
    if (!trimmed) throw new ProtocolError('invalid_message', 'a chat message cannot be empty');
    const id = this.sendData(trimmed, { topic: CHAT_TOPIC });
    const message: ChatMessage = {
      id,
      senderId: this.roster.localId ?? '',
      senderName: this.localParticipant?.name ?? this.name,
      text: trimmed,
      timestamp: Date.now(),
      isLocal: true,
    };
    this.addChat(message);
    return message;
  }

  /**
   * Choose what to receive of a participant (or of one of its tracks, `trackId`): `video`
   * / `audio` false pause it, `quality` picks the simulcast layer of its video (`low`,
   * `medium`, `high`). A field left out stays as it was (at first: received, `high`), so a
   * tile's quality and its page keep each other; nothing is sent when nothing changes.
   * Throws {@link ArbiterError} if the data channel is not open.
   */
  setSubscription(participantId: string, options: SubscriptionOptions = {}): void {
    const producer = this.link.producer;
    if (!producer || !producer.open) {
      throw new ArbiterError('connection_lost', 'cannot change a subscription: the data channel is not open');
    }
    const message = this.wishes.change(participantId, options);
    if (message) producer.send(message);
  }

  // ------------------------------------------------------------------------ local media

  /**
   * Turn the microphone on or off. Turning it on asks for it if the room has no
   * microphone yet (e.g. permission was refused at join); resolves to the new state.
   */
  setMicrophoneEnabled(enabled: boolean): Promise<boolean> {
    return this.media.setEnabled('audio', enabled);
  }

  /** Turn the camera on or off (see {@link Room.setMicrophoneEnabled}). */
  setCameraEnabled(enabled: boolean): Promise<boolean> {
    return this.media.setEnabled('video', enabled);
  }

  // ---------------------------------------------------------------------------- meeting

  /** Who speaks now, loudest first (participant ids, as the SFU says: audio levels). */
  get activeSpeakers(): readonly string[] {
    return this.roster.speakers;
  }

  /** The camera, microphone and speaker in use (ids; absent: the browser's default). */
  get activeDevices(): ActiveDevices {
    return this.media.devices;
  }

  /**
   * Share a screen, window or tab (`getDisplayMedia`; the browser asks which) as a second
   * video track, `screen`, beside the camera: the producer connection is offered again and
   * the others see it (`screenTrack`). Resolves to whether a screen is shared (false when
   * the user cancelled). Sharing ends by {@link Room.stopScreenShare} or the browser's own
   * "Stop sharing".
   */
  async startScreenShare(): Promise<boolean> {
    return this.media.startScreenShare();
  }

  /** Stop sharing the screen (its section goes quiet; the others' screen tile goes away). */
  async stopScreenShare(): Promise<void> {
    return this.media.stopScreenShare();
  }

  /** Start (true) or stop sharing the screen; resolves to whether one is shared. */
  async setScreenShareEnabled(enabled: boolean): Promise<boolean> {
    if (enabled) return this.startScreenShare();
    await this.stopScreenShare();
    return false;
  }

  /** Raise or lower this participant's hand; everyone (late joiners too) sees it. */
  setHandRaised(raised: boolean): void {
    this.session.send(makeMessage('update_participant', { hand_raised: raised }));
  }

  /** Change this participant's display name; everyone (late joiners too) sees the new one. */
  setName(name: string): void {
    const trimmed = name.trim();
    if (!trimmed) throw new ProtocolError('invalid_message', 'a name cannot be empty');
    this.session.send(makeMessage('update_participant', { name: trimmed }));
  }

  /**
   * Use another camera, microphone (sent from now on with `replaceTrack`: nothing is
   * renegotiated, the mute state is kept) or speaker (every remote audio element's
   * `setSinkId`, see {@link RoomAudioRenderer}). Resolves to whether it worked; a device
   * that cannot be opened is a media problem (`mediaProblems`) and the old one goes on.
   */
  async switchDevice(kind: DeviceKind, deviceId: string): Promise<boolean> {
    return this.media.switchDevice(kind, deviceId);
  }

  // ---------------------------------------------------------------------------- leaving

  /** Leave the room: tell the server, close every connection, stop the camera/microphone. */
  async disconnect(reason = 'left'): Promise<void> {
    if (this.isClosed()) return;
    this.session.send(makeMessage('leave', {}));
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
    this.link.close();
    this.media.stop();
    this.session.close();
  }
}

function toArbiterError(exc: unknown): ArbiterError {
  if (exc instanceof ArbiterError) return exc;
  if (exc instanceof ProtocolError) return new ArbiterError(exc.code, `the server sent an invalid reply: ${exc.message}`);
  return new ArbiterError('webrtc_error', exc instanceof Error ? exc.message : String(exc));
}
