/**
 * The media link: the room's producer and consumer connections to its SFU, and getting
 * them back when the SFU changes (Python's `MediaLink`). A mid-call `sfu_ready` (a new
 * SFU) replaces every connection under the same participant and local tracks; a failed
 * producer waits for the new SFU instead of leaving; an offer that found no SFU
 * (`sfu_unavailable`) is made again after its `sfu_ready`. Media that is not back within
 * the reconnect budget fails the room.
 * @packageDocumentation
 */
import type { Consumers } from './consumers.js';
import { ArbiterError } from './errors.js';
import type { Message } from './protocol/index.js';
import type { Producer } from './producer.js';

/** What the link needs from its room. */
export interface MediaLinkHooks {
  /** A new producer connection (this browser's tracks and data channel, not offered yet). */
  createProducer(onFailed: (error: ArbiterError) => void): Producer;
  /** Send a signaling message. */
  send(message: Message): void;
  /** Race `promise` with the room's end. */
  until<T>(promise: Promise<T>): Promise<T>;
  /** True while the room is joining (a failure then ends the join). */
  joining(): boolean;
  /** True once the room is closed. */
  closed(): boolean;
  /** Media is down: the room shows `reconnecting`. */
  down(reason: string): void;
  /** Media is back. */
  settled(): void;
  /** Media did not come back: the room fails. */
  fail(error: ArbiterError): void;
}

/** The producer and consumer connections to the room's current SFU. */
export class MediaLink {
  /** The producer connection (null while being replaced). */
  producer: Producer | null = null;
  /** True while media is down: a new SFU is awaited, or being published to. */
  down = false;
  private waiting: (() => void) | null = null;
  /** The SFU's `sfu_ready` owed after a refused offer (it may come before it is awaited). */
  private owed: Promise<void> | null = null;
  private deadline: ReturnType<typeof setTimeout> | null = null;
  /** Counts restarts: an older one still running stops when it sees a newer one. */
  private generation = 0;

  constructor(
    private readonly consumers: Consumers,
    private readonly hooks: MediaLinkHooks,
    private readonly budgetMs: number,
  ) {}

  /** A promise for the SFU's readiness (`identified.sfu_ready` or `sfu_ready`). */
  waitForSfu(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiting = resolve;
    });
  }

  /** The SFU is ready: wake whoever waits for it; false if nobody did. */
  sfuReady(): boolean {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
    return waiting !== null;
  }

  /**
   * Publish to the SFU: offer, and resolve once answered with the data channel open; if
   * the SFU went away under the offer (`sfu_unavailable`), wait for its `sfu_ready` and
   * offer again. Rejects when the room closes.
   */
  async publish(): Promise<void> {
    for (;;) {
      const producer = this.hooks.createProducer((error) => this.failed(producer, error));
      this.producer = producer;
      try {
        await producer.publish((m) => this.hooks.send(m), (p) => this.hooks.until(p));
        return;
      } catch (exc) {
        if (!(exc instanceof ArbiterError) || exc.code !== 'sfu_unavailable' || this.hooks.closed()) throw exc;
        producer.close();
        if (this.producer === producer) this.producer = null;
        const back = this.owed ?? this.waitForSfu();
        this.owed = null;
        await this.hooks.until(back);
      }
    }
  }

  /**
   * The server refused the producer offer because the SFU is gone: the offer fails, and
   * the `sfu_ready` the server owes is awaited from now on (it may come right after).
   */
  refused(error: ArbiterError): void {
    const producer = this.producer;
    if (!producer?.awaitingAnswer) return;
    this.owed = this.waitForSfu();
    producer.refuse(error);
  }

  /** Media is down: report it, and fail if it is not back within the budget. */
  lost(reason: string): void {
    if (this.hooks.closed()) return;
    this.down = true;
    this.hooks.down(reason);
    if (!this.deadline) {
      this.deadline = setTimeout(
        () =>
          this.hooks.fail(
            new ArbiterError('connection_lost', `media not restored within ${this.budgetMs / 1000} s (${reason})`),
          ),
        this.budgetMs,
      );
    }
  }

  /**
   * A new SFU (or a new session): replace every peer connection under the same
   * participant and local tracks (the mute state goes out again when the channel opens).
   */
  restart(reason: string): void {
    console.warn(`arbiter: restarting media: ${reason}`);
    this.lost(reason);
    this.consumers.closeAll();
    this.producer?.close();
    this.producer = null;
    const generation = ++this.generation;
    this.publish().then(
      () => {
        if (generation !== this.generation || this.hooks.closed()) return;
        this.down = false;
        this.clearDeadline();
        this.hooks.settled();
      },
      (exc: unknown) => {
        if (generation === this.generation && !this.hooks.closed()) {
          this.hooks.fail(exc instanceof ArbiterError ? exc : new ArbiterError('webrtc_error', String(exc)));
        }
      },
    );
  }

  /** Close every connection (the room is closing). */
  close(): void {
    this.clearDeadline();
    this.waiting = null;
    this.owed = null;
    this.consumers.closeAll();
    this.producer?.close();
    this.producer = null;
  }

  /** The producer failed: joining, that ends the join; later, a new SFU is awaited. */
  private failed(producer: Producer, error: ArbiterError): void {
    if (this.hooks.joining()) this.hooks.fail(error);
    else if (producer === this.producer) this.lost(error.message); // no leave
  }

  private clearDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }
}
