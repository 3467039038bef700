/**
 * The consumer connections: one per remote producer, offered by the SFU and answered
 * here; each one's tracks go on that participant.
 * @packageDocumentation
 */
import { ArbiterError } from './errors.js';
import { makeMessage, type Handshake, type Message } from './protocol/index.js';
import { waitForIceGathering } from './rtc.js';
import type { RoomEnvironment } from './types.js';

interface Consumer {
  producerId: string;
  pc: RTCPeerConnection;
  queue: Promise<void>;
  tracks: MediaStreamTrack[];
}

/** What the consumers tell their room. */
export interface ConsumerHandlers {
  /** Send a signaling message (the answers). */
  send(message: Message): void;
  /** A consumer for `producerId` is being made (the participant may be unknown yet). */
  onConsumer(producerId: string): void;
  /** A track of `producerId` arrived. */
  onTrack(producerId: string, track: MediaStreamTrack): void;
  /** A track of `producerId` ended or its consumer closed. */
  onTrackEnded(producerId: string, track: MediaStreamTrack): void;
  /** Answering an offer failed. */
  onError(error: ArbiterError): void;
}

/** The room's consumer `RTCPeerConnection`s, by the id of the producer each carries. */
export class Consumers {
  private readonly consumers = new Map<string, Consumer>();

  constructor(
    private readonly env: RoomEnvironment,
    private readonly config: () => RTCConfiguration,
    private readonly handlers: ConsumerHandlers,
  ) {}

  /** An offer or a candidate from the SFU; handled in order per consumer. */
  onHandshake(message: Handshake): void {
    const producerId = message.producer_id;
    if (!producerId) return;
    let consumer = this.consumers.get(producerId);
    if (!consumer) {
      if (!message.sdp) return; // a candidate for a consumer we never had
      consumer = this.create(producerId);
    }
    const c = consumer;
    c.queue = c.queue
      .then(async () => {
        if (message.sdp) {
          if (message.sdp.type !== 'offer') return;
          await c.pc.setRemoteDescription({ type: 'offer', sdp: message.sdp.sdp });
          await c.pc.setLocalDescription(await c.pc.createAnswer());
          await waitForIceGathering(c.pc);
          const answer = c.pc.localDescription;
          if (!answer || this.consumers.get(producerId) !== c) return;
          this.handlers.send(
            makeMessage('handshake', {
              connection: 'consumer',
              producer_id: producerId,
              sdp: { type: 'answer', sdp: answer.sdp },
            }),
          );
        } else if (message.candidate) {
          await c.pc.addIceCandidate(message.candidate);
        }
      })
      .catch((exc: unknown) => {
        console.warn(`arbiter: consumer ${producerId} handshake failed`, exc);
        this.handlers.onError(new ArbiterError('webrtc_error', `receiving ${producerId} failed: ${String(exc)}`));
      });
  }

  private create(producerId: string): Consumer {
    const pc = new this.env.RTCPeerConnection(this.config());
    const consumer: Consumer = { producerId, pc, queue: Promise.resolve(), tracks: [] };
    this.consumers.set(producerId, consumer);
    this.handlers.onConsumer(producerId);
    pc.addEventListener('track', (event: RTCTrackEvent) => {
      const track = event.track;
      consumer.tracks.push(track);
      this.handlers.onTrack(producerId, track);
      track.addEventListener('ended', () => this.handlers.onTrackEnded(producerId, track));
    });
    return consumer;
  }

  /** `(producer id, connection)` of every consumer, for stats. */
  connections(): [string, RTCPeerConnection][] {
    return [...this.consumers.values()].map((c) => [c.producerId, c.pc]);
  }

  /** Close the consumer of `producerId` (its tracks end first). */
  close(producerId: string): void {
    const c = this.consumers.get(producerId);
    if (!c) return;
    this.consumers.delete(producerId);
    for (const track of c.tracks) this.handlers.onTrackEnded(producerId, track);
    c.pc.close();
  }

  /** Close every consumer. */
  closeAll(): void {
    for (const id of [...this.consumers.keys()]) this.close(id);
  }
}
