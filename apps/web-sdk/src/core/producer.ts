/**
 * The producer connection: this browser's microphone and camera (sendonly) and the
 * `arbiter` data channel, offered to the SFU, which answers. A shared screen is a third
 * section added later: the same connection is offered again (renegotiated), and the
 * microphone and camera flow on. A viewer's (a grant without `publish`) has the data
 * channel only: the SFU refuses media sections from it.
 * @packageDocumentation
 */
import { ArbiterError } from './errors.js';
import { encodeMessage, makeMessage, type Handshake, type Message, type TrackInfo } from './protocol/index.js';
import { PathWatch } from './path.js';
import { waitForIceGathering } from './rtc.js';
import type { RoomEnvironment } from './types.js';

/** Label of the data channel on the producer connection (the SFU looks for it). */
export const DATA_CHANNEL_LABEL = 'arbiter';

/** What the producer tells its room. */
export interface ProducerHandlers {
  /** A data channel message arrived. */
  onMessage(raw: unknown): void;
  /** The data channel opened. */
  onOpen(): void;
  /** The connection failed, or the SFU's answer could not be applied. */
  onFailed(error: ArbiterError): void;
}

/**
 * Simulcast layers for a camera, lowest first (the SFU ranks layers in this order): a
 * quarter, half and full size version when the camera gives at least 960 pixels of width,
 * a half and full one from 480, none below. Each layer's bitrate is capped.
 * @public
 */
export function simulcastEncodings(track: MediaStreamTrack): RTCRtpEncodingParameters[] | undefined {
  const width = track.getSettings?.().width ?? 0;
  const layers: RTCRtpEncodingParameters[] = [];
  if (width >= 960) layers.push({ rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 });
  if (width >= 480) layers.push({ rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 });
  if (layers.length === 0) return undefined;
  layers.push({ rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 });
  return layers;
}

/** This browser's producer `RTCPeerConnection` and its `arbiter` data channel. */
export class Producer {
  readonly pc: RTCPeerConnection;
  private readonly channel: RTCDataChannel;
  /** The microphone's and camera's transceivers (none for a viewer). */
  private readonly audio: RTCRtpTransceiver | null = null;
  private readonly video: RTCRtpTransceiver | null = null;
  private readonly opened: Promise<void>;
  private answered: Promise<void>;
  private resolveAnswered: (() => void) | null = null;
  private screen: RTCRtpTransceiver | null = null;
  private negotiation: Promise<void> = Promise.resolve();
  private readonly streams: MediaStream[];
  private rejectAnswered: ((error: ArbiterError) => void) | null = null;
  private closed = false;
  /** Finds the path dead long before the browser says `failed` (see path.ts). */
  private readonly watch: PathWatch;

  constructor(
    env: RoomEnvironment,
    config: RTCConfiguration,
    local: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null; media?: boolean },
    private readonly handlers: ProducerHandlers,
  ) {
    const pc = new env.RTCPeerConnection(config);
    this.pc = pc;
    const stream = typeof MediaStream !== 'undefined' ? new MediaStream() : null;
    const streams = stream ? [stream] : [];
    this.streams = streams;
    if (local.media !== false) {
      this.audio = pc.addTransceiver(local.audio ?? 'audio', { direction: 'sendonly', streams });
      const sendEncodings = local.video ? simulcastEncodings(local.video) : undefined;
      this.video = pc.addTransceiver(local.video ?? 'video', {
        direction: 'sendonly',
        streams,
        ...(sendEncodings ? { sendEncodings } : {}),
      });
    }
    const channel = pc.createDataChannel(DATA_CHANNEL_LABEL);
    this.channel = channel;
    channel.onmessage = (event: MessageEvent) => handlers.onMessage(event.data);
    this.opened = new Promise<void>((resolve) => {
      channel.onopen = () => {
        resolve();
        handlers.onOpen();
      };
    });
    this.answered = new Promise<void>((resolve, reject) => {
      this.resolveAnswered = resolve;
      this.rejectAnswered = reject;
    });
    this.answered.catch(() => undefined); // read by publish(); nobody else waits on it
    const watch = new PathWatch(pc, () =>
      handlers.onFailed(new ArbiterError('webrtc_error', 'the media path to the server died')),
    );
    this.watch = watch;
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') watch.start();
      if (pc.connectionState === 'failed') {
        watch.stop();
        handlers.onFailed(new ArbiterError('webrtc_error', 'the media connection to the server failed'));
      }
    });
  }

  /**
   * Offer (once ICE gathering is done, candidates in the SDP) and resolve when the SFU
   * answered and the data channel is open: then media and chat both work.
   */
  async publish(send: (message: Message) => void, until: <T>(p: Promise<T>) => Promise<T>): Promise<void> {
    const pc = this.pc;
    await pc.setLocalDescription(await pc.createOffer());
    await until(waitForIceGathering(pc));
    const local = pc.localDescription;
    if (!local || this.closed) throw new ArbiterError('connection_lost', 'the room was closed while joining');
    send(makeMessage('handshake', { connection: 'producer', sdp: { type: 'offer', sdp: local.sdp }, tracks: this.tracks() }));
    await this.answered;
    await this.opened;
  }

  /**
   * What the offer says its media sections carry: the microphone, the camera (none for a
   * viewer), the screen.
   */
  private tracks(): TrackInfo[] {
    const tracks: TrackInfo[] = [];
    if (this.audio) tracks.push({ id: 'microphone', kind: 'audio', source: 'microphone', mid: this.audio.mid });
    if (this.video) tracks.push({ id: 'camera', kind: 'video', source: 'camera', mid: this.video.mid });
    if (this.screen) tracks.push({ id: 'screen', kind: 'video', source: 'screen', mid: this.screen.mid });
    return tracks;
  }

  /**
   * Send `track` as the shared screen (null: stop sending one) and offer the connection
   * again; resolves once the SFU's answer is applied. A stopped screen's section is taken
   * up again by the next one. Renegotiations run one at a time.
   */
  shareScreen(
    track: MediaStreamTrack | null,
    send: (message: Message) => void,
    until: <T>(p: Promise<T>) => Promise<T>,
  ): Promise<void> {
    const run = async (): Promise<void> => {
      if (track) {
        if (this.screen) {
          this.screen.direction = 'sendonly';
          await this.screen.sender.replaceTrack(track);
        } else {
          this.screen = this.pc.addTransceiver(track, { direction: 'sendonly', streams: this.streams });
        }
      } else {
        if (!this.screen) return;
        this.screen.direction = 'inactive';
        await this.screen.sender.replaceTrack(null);
      }
      this.answered = new Promise<void>((resolve, reject) => {
        this.resolveAnswered = resolve;
        this.rejectAnswered = reject;
      });
      const pc = this.pc;
      await pc.setLocalDescription(await pc.createOffer());
      await until(waitForIceGathering(pc));
      const local = pc.localDescription;
      if (!local || this.closed) throw new ArbiterError('connection_lost', 'the room is closed');
      send(makeMessage('handshake', { connection: 'producer', sdp: { type: 'offer', sdp: local.sdp }, tracks: this.tracks() }));
      await until(this.answered);
    };
    const next = this.negotiation.then(run, run);
    this.negotiation = next.catch(() => undefined);
    return next;
  }

  /** The SFU's answer, or a trickled candidate. */
  onHandshake(message: Handshake): void {
    const pc = this.pc;
    if (message.sdp) {
      if (message.sdp.type !== 'answer') return;
      pc.setRemoteDescription({ type: 'answer', sdp: message.sdp.sdp }).then(
        () => {
          const answered = this.resolveAnswered;
          this.resolveAnswered = null;
          this.rejectAnswered = null;
          answered?.();
        },
        (exc: unknown) => this.handlers.onFailed(new ArbiterError('webrtc_error', `bad producer answer: ${String(exc)}`)),
      );
    } else if (message.candidate) {
      pc.addIceCandidate(message.candidate).catch((exc: unknown) =>
        console.warn('arbiter: producer candidate refused', exc),
      );
    }
  }

  /** The offer will get no answer (e.g. the SFU went away): {@link Producer.publish} rejects. */
  refuse(error: ArbiterError): void {
    const refuse = this.rejectAnswered;
    this.resolveAnswered = null;
    this.rejectAnswered = null;
    refuse?.(error);
  }

  /** Whether the offer still waits for the SFU's answer. */
  get awaitingAnswer(): boolean {
    return this.rejectAnswered !== null;
  }

  /** Whether a screen is being sent (see {@link Producer.shareScreen}). */
  get sharesScreen(): boolean {
    return this.screen !== null && this.screen.direction === 'sendonly';
  }

  /** Whether the data channel is open. */
  get open(): boolean {
    return this.channel.readyState === 'open';
  }

  /** Send a message on the data channel; {@link ArbiterError} if it is not open. */
  send(message: Message): void {
    if (!this.open) throw new ArbiterError('connection_lost', 'cannot send: the data channel is not open');
    this.channel.send(encodeMessage(message));
  }

  /**
   * The SFU says which simulcast layers (rids) of the camera anybody receives: stop
   * encoding the others (`active: false`), start again those listed.
   */
  async setLayers(trackId: string, active: readonly string[]): Promise<void> {
    if (trackId !== 'camera') return;
    const sender = this.video?.sender;
    const parameters = sender?.getParameters?.();
    const encodings = parameters?.encodings ?? [];
    if (!sender || !parameters || encodings.length < 2) return;
    let changed = false;
    for (const encoding of encodings) {
      const want = encoding.rid === undefined || active.includes(encoding.rid);
      if (encoding.active !== want) {
        encoding.active = want;
        changed = true;
      }
    }
    if (changed) await sender.setParameters(parameters);
  }

  /** Send `track` as the audio or video from now on (no renegotiation; a viewer sends none). */
  async replaceTrack(kind: 'audio' | 'video', track: MediaStreamTrack): Promise<void> {
    await (kind === 'audio' ? this.audio : this.video)?.sender.replaceTrack(track);
  }

  /** Close the channel and the connection. */
  close(): void {
    this.closed = true;
    this.watch.stop();
    this.refuse(new ArbiterError('connection_lost', 'the producer connection was closed'));
    this.channel.close();
    this.pc.close();
  }
}
