/**
 * The room's signaling: join over HTTP, identify over the WebSocket, then dispatch every
 * message by its action to the handler routed for it. Nothing here knows about media.
 * @packageDocumentation
 */
import { ArbiterError } from './errors.js';
import {
  decodeBody,
  encodeMessage,
  makeMessage,
  parseMessage,
  type Action,
  type ErrorCode,
  type Identified,
  type JoinResponse,
  type Message,
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

/**
 * One participant's signaling. {@link Session.join} asks the Room API for a token,
 * {@link Session.open} identifies on the WebSocket; after that every message goes to the
 * handler {@link Session.route}d for its action (unrouted ones are ignored).
 */
export class Session {
  private ws: WebSocket | null = null;
  private readonly routes = new Map<Action, Handler>();

  constructor(
    private readonly url: string,
    private readonly name: string,
    private readonly env: RoomEnvironment,
    private readonly signal: AbortSignal,
  ) {}

  /** Handle every message of `action` with `handler`. */
  route<A extends Action>(action: A, handler: (message: Extract<Message, { action: A }>) => void): void {
    this.routes.set(action, handler as Handler);
  }

  /** `POST {url}/join`: a token, the signaling URL and ICE servers. */
  async join(): Promise<JoinResponse> {
    let response: Response;
    try {
      response = await this.env.fetch(`${this.url}/join`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ name: this.name }),
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
   * (after `onIdentified` ran, before any later message is handled); `onLost` is called
   * if the connection closes after that.
   */
  open(join: JoinResponse, onIdentified: (message: Identified) => void, onLost: () => void): Promise<Identified> {
    return new Promise<Identified>((resolve, reject) => {
      let identified = false;
      const ws = new this.env.WebSocket(join.signaling_url);
      this.ws = ws;
      ws.onopen = () => this.send(makeMessage('identify', { token: join.token }));
      ws.onerror = () => {
        if (!identified) reject(new ArbiterError('network_error', 'could not connect to signaling'));
      };
      ws.onclose = () => {
        if (!identified) reject(new ArbiterError('connection_lost', 'signaling closed before identifying'));
        else onLost();
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
            onIdentified(message);
            resolve(message);
            return;
          }
          if (message.action === 'error') {
            reject(new ArbiterError(message.code as ErrorCode, message.message));
            return;
          }
        }
        this.routes.get(message.action)?.(message);
      };
    });
  }

  /** Send a message if the WebSocket is open (dropped otherwise). */
  send(message: Message): void {
    const ws = this.ws;
    if (ws && ws.readyState === 1) ws.send(encodeMessage(message));
  }

  /** Close the WebSocket without reporting it as lost. */
  close(): void {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onclose = null;
    ws.onmessage = null;
    ws.onerror = null;
    try {
      ws.close(1000, 'left');
    } catch {
      // already closed
    }
  }
}
