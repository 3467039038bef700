/**
 * The room's signaling session: join over HTTP, identify over the WebSocket, then dispatch
 * every message by its action to the handler routed for it. It keeps the socket alive
 * (`keepalive`, as API Gateway's idle timeout needs), renews the refresh credential ahead
 * of expiry (`refresh`), and when the socket closes anyway (API Gateway's 2-hour limit, a
 * network blip, a keepalive gone unanswered) opens a new one and `resume`s as the same
 * participant, with backoff, within the reconnect budget. The Python client's `Session`
 * does the same (docs/signaling.md). Nothing here knows about media.
 * @packageDocumentation
 */
import { ArbiterError } from './errors.js';
import {
  decodeBody,
  DEFAULT_IDLE_TIMEOUT,
  encodeMessage,
  keepaliveAckWait,
  keepaliveInterval,
  makeMessage,
  parseMessage,
  refreshDelay,
  type Action,
  type ErrorCode,
  type IceServer,
  type Identified,
  type JoinResponse,
  type Message,
  type Refreshed,
} from './protocol/index.js';
import type { RoomEnvironment } from './types.js';

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

type Handler = (message: Message) => void;

/** Seconds before the second reconnection attempt; the wait doubles after each failure... */
const RETRY_FIRST = 0.25;
/** ... up to this many seconds. */
const RETRY_MAX = 5;
/** Longest one reconnection attempt (WebSocket and resume) may take, in seconds. */
const ATTEMPT_TIMEOUT = 10;
/** Seconds to wait for `refreshed` before sending `refresh` again. */
const REFRESH_REPLY_TIMEOUT = 10;
/** Messages kept while the socket is being replaced; older ones are dropped past it. */
const OUTBOX_SIZE = 256;
/** Longest wait `setTimeout` takes (a longer one would fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Server errors after which a resume is not tried again: the server said no. */
const REFUSED = new Set<string>(['unauthorized', 'room_not_found', 'room_full', 'session_expired', 'forbidden']);

/** What the session tells its room about its sockets. */
export interface SessionHandlers {
  /** Whether a socket that closed may be replaced (the room is joined and not leaving). */
  mayResume(): boolean;
  /** The socket closed; a new one is being opened (`reason` says why it closed). */
  onLost(reason: string): void;
  /** A new socket took the participant back (`resumed` false: the server had dropped it). */
  onResumed(identified: Identified): void;
  /** Signaling is gone for good: refused, out of time, or the session ended. */
  onFailed(error: ArbiterError): void;
  /** Fresh STUN/TURN credentials (from a resume or a refresh) for connections made later. */
  onIceServers(servers: IceServer[]): void;
  /** The server put this participant in the room's lobby (`identified {waiting: true}`). */
  onWaiting?(identified: Identified): void;
}

interface Credential {
  refreshToken: string;
  refreshExpiresAt: number;
}

/**
 * Seconds by which this machine's clock may lag the server's: a resume refused this close
 * to the session's end is taken for the end (`session_expired`).
 */
const CLOCK_SLACK = 30;

/**
 * One participant's signaling, across WebSockets. {@link Session.join} asks the Room API
 * for a token, {@link Session.open} identifies on the WebSocket; after that every message
 * goes to the handler {@link Session.route}d for its action (unrouted ones are ignored).
 */
export class Session {
  private ws: WebSocket | null = null;
  private readonly routes = new Map<Action, Handler>();
  private credential: Credential | null = null;
  private idleTimeout = DEFAULT_IDLE_TIMEOUT;
  /** When the session ends (Unix seconds): then the server sends `session_expired`. */
  private sessionExpiresAt = Infinity;
  private handlers: SessionHandlers | null = null;
  private reconnecting = false;
  private closed = false;
  private outbox: Message[] = [];
  private keepaliveTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  /** The socket whose keepalive waits for an answer (any message answers it). */
  private awaiting: WebSocket | null = null;
  /** The socket being opened by a reconnection attempt (closed if the room leaves). */
  private attempt: WebSocket | null = null;
  /** The WebSocket URL of the join response. */
  private signalingUrl = '';

  constructor(
    private readonly url: string,
    private readonly name: string,
    private readonly env: RoomEnvironment,
    private readonly signal: AbortSignal,
    private readonly reconnectTimeoutMs: number = 30_000,
    private readonly token?: string,
  ) {
    this.route('refreshed', (m) => this.refreshed(m));
  }

  /** Handle every message of `action` with `handler`. */
  route<A extends Action>(action: A, handler: (message: Extract<Message, { action: A }>) => void): void {
    this.routes.set(action, handler as Handler);
  }

  /** True while a dropped socket is being replaced. */
  get isReconnecting(): boolean {
    return this.reconnecting;
  }

  /** `POST {url}/join`: a token, the signaling URL and ICE servers. */
  async join(): Promise<JoinResponse> {
    let response: Response;
    try {
      response = await this.env.fetch(`${this.url}/join`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(this.token ? { name: this.name, grant: this.token } : { name: this.name }),
        signal: this.signal,
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

  /**
   * Open the WebSocket and identify with the join token. Resolves with `identified`
   * (after `onIdentified` ran, before any later message is handled). From then on the
   * socket is kept alive and replaced when it closes, as `handlers` allow. In a lobby,
   * `handlers.onWaiting` is called first (the socket is kept alive and the refresh
   * credential renewed meanwhile) and the
   * promise waits for the `identified` that admits this participant; messages routed
   * meanwhile (`removed`) are dispatched.
   */
  open(join: JoinResponse, onIdentified: (message: Identified) => void, handlers: SessionHandlers): Promise<Identified> {
    this.handlers = handlers;
    this.signalingUrl = join.signaling_url;
    this.credential = { refreshToken: join.refresh_token, refreshExpiresAt: join.refresh_expires_at };
    this.sessionExpiresAt = join.session_expires_at;
    return new Promise<Identified>((resolve, reject) => {
      let identified = false;
      const ws = new this.env.WebSocket(join.signaling_url);
      this.ws = ws;
      ws.onopen = () => ws.send(encodeMessage(makeMessage('identify', { token: join.token })));
      ws.onerror = () => {
        if (!identified) reject(new ArbiterError('network_error', 'could not connect to signaling'));
      };
      ws.onclose = () => {
        if (!identified) reject(new ArbiterError('connection_lost', 'signaling closed before identifying'));
        else this.lost(ws, 'the signaling connection closed');
      };
      ws.onmessage = (event: MessageEvent) => {
        const message = this.receive(ws, event);
        if (!message) return;
        if (!identified) {
          if (message.action === 'identified' && message.waiting) {
            // in the lobby: the next `identified` admits us; the socket must stay open and the
            // credential fresh meanwhile (a moderator may take longer than either lasts)
            if (message.idle_timeout) this.idleTimeout = message.idle_timeout;
            this.keepAlive();
            this.scheduleRefresh();
            handlers.onWaiting?.(message);
            return;
          }
          if (message.action === 'identified') {
            identified = true;
            this.identified(message);
            onIdentified(message);
            resolve(message);
            return;
          }
          if (message.action === 'error') {
            reject(new ArbiterError(message.code as ErrorCode, message.message));
            return;
          }
        }
        this.dispatch(message);
      };
    });
  }

  /** Send a message; while the socket is being replaced it waits for the next one. */
  send(message: Message): void {
    const ws = this.ws;
    if (ws && ws.readyState === 1) {
      ws.send(encodeMessage(message));
    } else if (this.reconnecting) {
      if (this.outbox.length >= OUTBOX_SIZE) this.outbox.shift();
      this.outbox.push(message);
    }
  }

  /** Close the WebSocket without reporting it as lost; no more reconnection. */
  close(): void {
    this.closed = true;
    this.reconnecting = false;
    this.stopTimers();
    this.outbox = [];
    const attempt = this.attempt;
    this.attempt = null;
    if (attempt) quietClose(attempt, 'left');
    const ws = this.ws;
    this.ws = null;
    if (ws) quietClose(ws, 'left');
  }

  // ------------------------------------------------------------------------- messages

  /** Parse a message off `ws` (null for a bad one, which is logged): `ws` is alive. */
  private receive(ws: WebSocket, event: MessageEvent): Message | null {
    if (this.awaiting === ws) {
      this.awaiting = null;
      this.keepAlive(); // the next one in an interval
    }
    try {
      return parseMessage(typeof event.data === 'string' ? event.data : String(event.data));
    } catch (exc) {
      console.warn('arbiter: ignoring a bad signaling message', exc);
      return null;
    }
  }

  private dispatch(message: Message): void {
    if (message.action === 'error' && message.code === 'session_expired') {
      // the server ends the session and closes the socket: no resume
      this.fail(new ArbiterError('session_expired', message.message));
      return;
    }
    this.routes.get(message.action)?.(message);
  }

  private identified(message: Identified): void {
    if (message.idle_timeout) this.idleTimeout = message.idle_timeout;
    if (message.session_expires_at) this.sessionExpiresAt = message.session_expires_at;
    if (message.refresh_token && message.refresh_expires_at) {
      this.credential = { refreshToken: message.refresh_token, refreshExpiresAt: message.refresh_expires_at };
    }
    if (message.ice_servers) this.handlers?.onIceServers(message.ice_servers);
    this.keepAlive();
    this.scheduleRefresh();
  }

  private refreshed(message: Refreshed): void {
    this.credential = { refreshToken: message.refresh_token, refreshExpiresAt: message.refresh_expires_at };
    if (message.ice_servers) this.handlers?.onIceServers(message.ice_servers);
    this.scheduleRefresh();
  }

  // ----------------------------------------------------------------- keepalive, refresh

  /**
   * Send `keepalive` on the current socket in an interval; the next goes an interval after
   * something answered it. A socket that answers nothing within the wait is dead.
   */
  private keepAlive(): void {
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    this.awaiting = null;
    const ws = this.ws;
    if (!ws) return;
    this.keepaliveTimer = setTimeout(() => {
      if (this.ws !== ws) return;
      this.send(makeMessage('keepalive', {}));
      this.awaiting = ws;
      const wait = keepaliveAckWait(this.idleTimeout);
      this.keepaliveTimer = setTimeout(() => {
        if (this.ws !== ws || this.awaiting !== ws) return;
        this.lost(ws, `no answer to keepalive within ${wait} s`);
        quietClose(ws, 'no keepalive answer');
      }, wait * 1000);
    }, keepaliveInterval(this.idleTimeout) * 1000);
  }

  /**
   * `refresh` the credential when half of its remaining lifetime is gone (`at`, Unix
   * seconds; by default from the credential), and again if no reply comes.
   */
  private scheduleRefresh(at?: number): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    const credential = this.credential;
    if (!credential || this.closed) return;
    const due = at ?? Date.now() / 1000 + refreshDelay(credential.refreshExpiresAt, Date.now() / 1000);
    const wait = (due - Date.now() / 1000) * 1000;
    this.refreshTimer = setTimeout(
      () => {
        if (this.closed) return;
        if (Date.now() / 1000 < due) {
          this.scheduleRefresh(due); // a wait longer than setTimeout can take
          return;
        }
        this.send(makeMessage('refresh', { refresh_token: credential.refreshToken }));
        this.scheduleRefresh(Date.now() / 1000 + REFRESH_REPLY_TIMEOUT);
      },
      Math.min(Math.max(wait, 0), MAX_TIMER_MS),
    );
  }

  private stopTimers(): void {
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.keepaliveTimer = null;
    this.refreshTimer = null;
    this.awaiting = null;
  }

  // ---------------------------------------------------------------------- reconnection

  /** `ws` closed (or died): replace it if the room may, else fail. */
  private lost(ws: WebSocket, reason: string): void {
    if (ws !== this.ws || this.closed) return;
    this.ws = null;
    ws.onclose = null;
    ws.onmessage = null;
    ws.onerror = null;
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = null;
    const handlers = this.handlers;
    if (!handlers || this.reconnectTimeoutMs <= 0 || !handlers.mayResume()) {
      this.fail(new ArbiterError('connection_lost', `the signaling connection was lost (${reason})`));
      return;
    }
    console.warn(`arbiter: signaling lost (${reason}); reconnecting`);
    this.reconnecting = true;
    handlers.onLost(reason);
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    const deadline = Date.now() + this.reconnectTimeoutMs;
    let delay = RETRY_FIRST;
    let last = 'no attempt finished';
    while (!this.closed && Date.now() < deadline) {
      try {
        const { ws, identified } = await this.resumeOnce(Math.min(deadline - Date.now(), ATTEMPT_TIMEOUT * 1000));
        if (this.closed) {
          quietClose(ws, 'left');
          return;
        }
        this.adopt(ws, identified);
        return;
      } catch (exc) {
        const error = exc instanceof ArbiterError ? exc : new ArbiterError('network_error', String(exc));
        const over = Date.now() / 1000 + CLOCK_SLACK >= this.sessionExpiresAt;
        if (error.code === 'session_expired' || (REFUSED.has(error.code) && over)) {
          // the session reached its lifetime while the socket was down: its end, not a refusal
          this.fail(new ArbiterError('session_expired', 'the session has reached its lifetime'));
          return;
        }
        if (REFUSED.has(error.code)) {
          this.fail(new ArbiterError(error.code, `reconnection refused: ${error.message}`));
          return;
        }
        last = error.message;
      }
      const pause = Math.min(delay * 1000, deadline - Date.now());
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
      delay = Math.min(delay * 2, RETRY_MAX);
    }
    if (!this.closed) {
      this.fail(
        new ArbiterError(
          'connection_lost',
          `could not reconnect within ${this.reconnectTimeoutMs / 1000} s (last error: ${last})`,
        ),
      );
    }
  }

  /** One attempt: a new WebSocket, `resume` with the refresh credential, its `identified`. */
  private resumeOnce(timeoutMs: number): Promise<{ ws: WebSocket; identified: Identified }> {
    const credential = this.credential;
    if (!credential) return Promise.reject(new ArbiterError('unauthorized', 'no refresh credential'));
    return new Promise((resolve, reject) => {
      const ws = new this.env.WebSocket(this.signalingUrl);
      this.attempt = ws;
      let done = false;
      const finish = (error: ArbiterError | null, identified?: Identified) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (this.attempt === ws) this.attempt = null;
        if (error) {
          quietClose(ws, 'resume failed');
          reject(error);
        } else {
          resolve({ ws, identified: identified! });
        }
      };
      const timer = setTimeout(() => finish(new ArbiterError('timeout', 'the attempt timed out')), timeoutMs);
      ws.onopen = () => ws.send(encodeMessage(makeMessage('resume', { refresh_token: credential.refreshToken })));
      ws.onerror = () => finish(new ArbiterError('network_error', 'could not connect to signaling'));
      ws.onclose = () => finish(new ArbiterError('network_error', 'signaling closed before resuming'));
      ws.onmessage = (event: MessageEvent) => {
        const message = this.receive(ws, event);
        if (!message) return;
        if (message.action === 'identified') {
          finish(null, message);
        } else if (message.action === 'error' && (message.ref === 'resume' || message.ref == null)) {
          finish(new ArbiterError(message.code as ErrorCode, message.message));
        } else if (!done) {
          this.dispatch(message);
        }
      };
    });
  }

  /** The resumed socket becomes the session's: its messages, keepalive, the outbox. */
  private adopt(ws: WebSocket, identified: Identified): void {
    this.ws = ws;
    this.reconnecting = false;
    ws.onerror = null;
    ws.onclose = () => this.lost(ws, 'the signaling connection closed');
    ws.onmessage = (event: MessageEvent) => {
      const message = this.receive(ws, event);
      if (message) this.dispatch(message);
    };
    this.identified(identified);
    const queued = this.outbox;
    this.outbox = [];
    for (const message of queued) this.send(message);
    this.handlers?.onResumed(identified);
  }

  private fail(error: ArbiterError): void {
    if (this.closed) return;
    const handlers = this.handlers;
    this.close();
    handlers?.onFailed(error);
  }
}

function quietClose(ws: WebSocket, reason: string): void {
  ws.onclose = null;
  ws.onmessage = null;
  ws.onerror = null;
  ws.onopen = null;
  try {
    ws.close(1000, reason);
  } catch {
    // already closed
  }
}
