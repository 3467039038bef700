/**
 * The consumer connection: one `RTCPeerConnection` on which the SFU sends every other
 * participant's tracks. The SFU offers it again whenever tracks come or go; each offer
 * says which track each media section carries (`tracks`), and a section may go quiet and
 * later carry another track.
 * @packageDocumentation
 */
import { ArbiterError } from './errors.js';
import { makeMessage, type Handshake, type Message, type TrackInfo } from './protocol/index.js';
import { waitForIceGathering } from './rtc.js';
import type { RoomEnvironment } from './types.js';

/** One media section and the track it carries now. */
interface Section {
  mid: string;
  track: MediaStreamTrack;
  receiver: RTCRtpReceiver;
  info: TrackInfo | null;
}

interface Consumer {
  pc: RTCPeerConnection;
  queue: Promise<void>;
  sections: Map<string, Section>;
  /** The ICE username fragment of the SFU's offers (what tells connections apart). */
  ufrag: string | null;
}

/** The first `a=ice-ufrag` of an SDP. */
export function iceUfrag(sdp: string): string | null {
  const match = /^a=ice-ufrag:(.*)$/m.exec(sdp);
  return match ? match[1]!.trim() : null;
}

/** Whether `offer` is for another connection than `consumer` (other ICE credentials). */
function replaces(consumer: Consumer, offer: string): boolean {
  return consumer.ufrag !== null && iceUfrag(offer) !== consumer.ufrag;
}

/** What the consumer connection tells its room. */
export interface ConsumerHandlers {
  /** Send a signaling message (the answers). */
  send(message: Message): void;
  /** A section now carries `info`'s track (the participant may be unknown yet). */
  onTrack(info: TrackInfo, track: MediaStreamTrack): void;
  /** The section that carried `info`'s track carries it no more (or the connection closed). */
  onTrackEnded(info: TrackInfo, track: MediaStreamTrack): void;
  /** Answering an offer failed. */
  onError(error: ArbiterError): void;
}

/** The room's consumer `RTCPeerConnection` (at most one). */
export class Consumers {
  private consumer: Consumer | null = null;

  constructor(
    private readonly env: RoomEnvironment,
    private readonly config: () => RTCConfiguration,
    private readonly handlers: ConsumerHandlers,
  ) {}

  /**
   * An offer or a candidate from the SFU; handled in order. An offer with other ICE
   * credentials than the current connection's is for a new connection (the SFU replaces
   * one whose path died): the old one closes (its tracks end) and a new one answers.
   */
  onHandshake(message: Handshake): void {
    let consumer = this.consumer;
    if (consumer && message.sdp?.type === 'offer' && replaces(consumer, message.sdp.sdp)) {
      this.closeAll();
      consumer = null;
    }
    if (!consumer) {
      if (!message.sdp) return; // a candidate for a consumer we never had
      consumer = this.create();
    }
    const c = consumer;
    c.queue = c.queue
      .then(async () => {
        if (message.sdp) {
          if (message.sdp.type !== 'offer') return;
          await c.pc.setRemoteDescription({ type: 'offer', sdp: message.sdp.sdp });
          c.ufrag = iceUfrag(message.sdp.sdp);
          await c.pc.setLocalDescription(await c.pc.createAnswer());
          // each section's track before the answer goes out: media the SFU sends once it
          // has the answer must find its owner
          this.assign(c, message.tracks ?? []);
          await waitForIceGathering(c.pc);
          const answer = c.pc.localDescription;
          if (!answer || this.consumer !== c) return;
          this.handlers.send(
            makeMessage('handshake', { connection: 'consumer', sdp: { type: 'answer', sdp: answer.sdp } }),
          );
        } else if (message.candidate) {
          await c.pc.addIceCandidate(message.candidate);
        }
      })
      .catch((exc: unknown) => {
        console.warn('arbiter: consumer handshake failed', exc);
        this.handlers.onError(new ArbiterError('webrtc_error', `receiving media failed: ${String(exc)}`));
      });
  }

  private create(): Consumer {
    const pc = new this.env.RTCPeerConnection(this.config());
    const consumer: Consumer = { pc, queue: Promise.resolve(), sections: new Map(), ufrag: null };
    this.consumer = consumer;
    return consumer;
  }

  /** Give each media section the track the latest offer says it carries. */
  private assign(consumer: Consumer, tracks: readonly TrackInfo[]): void {
    const carried = new Map<string, TrackInfo>();
    for (const t of tracks) if (t.mid && t.participant_id) carried.set(t.mid, t);
    for (const transceiver of consumer.pc.getTransceivers()) {
      const mid = transceiver.mid;
      const track = transceiver.receiver?.track;
      if (!mid || !track || consumer.sections.has(mid)) continue;
      consumer.sections.set(mid, { mid, track, receiver: transceiver.receiver, info: null });
    }
    for (const section of consumer.sections.values()) {
      const info = carried.get(section.mid) ?? null;
      const old = section.info;
      if (old && info && old.participant_id === info.participant_id && old.id === info.id) continue;
      if (old) this.handlers.onTrackEnded(old, section.track);
      section.info = info;
      if (info) this.handlers.onTrack(info, section.track);
    }
  }

  /** A participant left: its sections carry nothing until the SFU reuses them. */
  forget(participantId: string): void {
    for (const section of this.consumer?.sections.values() ?? []) {
      if (section.info?.participant_id === participantId) {
        this.handlers.onTrackEnded(section.info, section.track);
        section.info = null;
      }
    }
  }

  /** Close the connection (every track it carried ends first). */
  closeAll(): void {
    const c = this.consumer;
    if (!c) return;
    this.consumer = null;
    for (const section of c.sections.values()) {
      if (section.info) this.handlers.onTrackEnded(section.info, section.track);
      section.info = null;
    }
    c.pc.close();
  }
}
