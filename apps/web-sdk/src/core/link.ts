/**
 * The media link: the room's producer and consumer connections to its SFU, and getting
 * them back when the SFU changes or a path dies (Python's `MediaLink`). A mid-call
 * `sfu_ready` (a new SFU) replaces every connection under the same participant and local
 * tracks; a producer whose path died is replaced by a new one to the same SFU (same
 * participant and tracks, no leave: {@link MediaLink.heal}); an offer that found no SFU
 * (`sfu_unavailable`) is made again after its `sfu_ready`. Media that is not back within
 * the reconnect budget fails the room.
 * @packageDocumentation
 */
import type { Consumers } from './consumers.js';
import { ArbiterError } from './errors.js';
import type { Message } from './protocol/index.js';
import type { Producer } from './producer.js';

/** Milliseconds one attempt at a new producer connection may take (gathering, ICE, DTLS), as Python's `HEAL_ATTEMPT`. */
export const HEAL_ATTEMPT_MS = 6000;
/** Milliseconds before the second attempt; each further one waits twice as long, up to {@link HEAL_RETRY_MAX_MS}. */
export const HEAL_RETRY_MS = 500;
/** The longest wait between two attempts. */
export const HEAL_RETRY_MAX_MS = 2000;

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
  /** True while media is down: a new SFU is awaited, or being published to, or the producer is being replaced. */
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

  /** The producer failed: joining, that ends the join; later, it is replaced (no leave). */
  private failed(producer: Producer, error: ArbiterError): void {
    if (this.hooks.joining()) this.hooks.fail(error);
    else if (producer === this.producer) this.heal(error.message);
  }

  /**
   * The producer's path died: make a new producer connection to the same SFU (same
   * participant and local tracks, no leave, no `sfu_ready`; the SFU continues the
   * subscribers' media with it). Retried, each attempt bounded by {@link HEAL_ATTEMPT_MS},
   * until it is answered with its data channel open, the SFU turns out to be gone (then
   * its `sfu_ready` restarts everything) or the reconnect budget runs out.
   */
  heal(reason: string): void {
    if (this.down || this.hooks.closed()) return; // a restart or a heal is under way
    console.warn(`arbiter: replacing the producer connection: ${reason}`);
    this.lost(reason);
    void this.healing(++this.generation);
  }

  private async healing(generation: number): Promise<void> {
    let pause = HEAL_RETRY_MS;
    const current = (): boolean => generation === this.generation && !this.hooks.closed();
    while (current()) {
      this.producer?.close();
      const producer = this.hooks.createProducer((error) => this.failed(producer, error));
      this.producer = producer;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ArbiterError('timeout', `not connected within ${HEAL_ATTEMPT_MS / 1000} s`)),
          HEAL_ATTEMPT_MS,
        );
      });
      try {
        await Promise.race([producer.publish((m) => this.hooks.send(m), (p) => this.hooks.until(p)), expired]);
        if (!current()) return;
        console.info('arbiter: producer connection replaced');
        this.down = false;
        this.clearDeadline();
        this.hooks.settled();
        return;
      } catch (exc) {
        if (!current()) return;
        if (exc instanceof ArbiterError && exc.code === 'sfu_unavailable') {
          // the SFU is gone: its successor's sfu_ready replaces every connection
          producer.close();
          if (this.producer === producer) this.producer = null;
          const back = this.owed ?? this.waitForSfu();
          this.owed = null;
          const ready = await this.hooks.until(back).then(
            () => true,
            () => false,
          );
          if (ready && current()) this.restart('the room has a new SFU');
          return;
        }
        console.warn(`arbiter: a new producer connection failed: ${String(exc)}`);
      } finally {
        clearTimeout(timer);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, HEAL_RETRY_MAX_MS);
    }
  }

  private clearDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }
}
