/**
 * The network path under a peer connection, found dead in seconds (Python's
 * `arbiter_rtc.PathWatch`). Chromium reports a connection whose path is gone (e.g. its
 * TURN server died) `failed` only after about 30 s; Arbiter wants it replaced within
 * 10 s. A connected path hears from the SFU all the time (its consent checks every
 * second, RTCP, the data channel's acknowledgements), so a path that received nothing
 * for {@link PATH_TIMEOUT_MS} is reported dead.
 * @packageDocumentation
 */

/** A path that received nothing for this many milliseconds is reported dead (as Python's `PATH_TIMEOUT`). */
export const PATH_TIMEOUT_MS = 4000;
/** Milliseconds between two looks at the connection's statistics. */
export const PATH_CHECK_MS = 500;

/**
 * What the connection's ICE candidate pairs received so far: bytes (RTP, RTCP, DTLS,
 * SCTP), STUN requests (the SFU's consent checks) and responses (to ours). Null when the
 * statistics name no candidate pair (no verdict then).
 */
export async function received(pc: RTCPeerConnection): Promise<number | null> {
  const report = await pc.getStats();
  let total: number | null = null;
  report.forEach((stats: { type?: string; bytesReceived?: number; requestsReceived?: number; responsesReceived?: number }) => {
    if (stats.type !== 'candidate-pair') return;
    total = (total ?? 0) + (stats.bytesReceived ?? 0) + (stats.requestsReceived ?? 0) + (stats.responsesReceived ?? 0);
  });
  return total;
}

/**
 * Watches a connected peer connection's path: `onDead()` once nothing has been received
 * on it for {@link PATH_TIMEOUT_MS}. {@link PathWatch.start} when the connection is
 * `connected`; {@link PathWatch.stop} when it closes.
 */
export class PathWatch {
  private timer: ReturnType<typeof setInterval> | null = null;
  private last: number | null = null;
  private lastProgress = 0;
  private reading = false;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly onDead: () => void,
  ) {}

  /** Start watching (idempotent). */
  start(): void {
    if (this.timer) return;
    this.lastProgress = Date.now();
    this.timer = setInterval(() => void this.check(), PATH_CHECK_MS);
  }

  /** Stop watching (idempotent). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async check(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    let total: number | null = null;
    try {
      total = await received(this.pc);
    } catch {
      total = null; // a closing connection: its owner stops the watch
    } finally {
      this.reading = false;
    }
    if (!this.timer) return;
    const now = Date.now();
    if (total === null || this.last === null || total > this.last) {
      if (total !== null) this.last = total;
      this.lastProgress = now;
    } else if (now - this.lastProgress >= PATH_TIMEOUT_MS) {
      console.warn(`arbiter: nothing received for ${((now - this.lastProgress) / 1000).toFixed(1)} s: the path is dead`);
      this.stop();
      this.onDead();
    }
  }
}
