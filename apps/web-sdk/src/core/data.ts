/**
 * The `arbiter` data channel's wire format as the room reads and writes it: a raw channel
 * message to a protocol message, a `data` message to what the app receives, what the app
 * sends to a `data` message. Nothing here holds state.
 * @packageDocumentation
 */
import { makeMessage, parseMessage, type DataMessage, type Message } from './protocol/index.js';
import type { ReceivedData } from './types.js';

/** The actions the SFU sends on the data channel. */
const CHANNEL_ACTIONS = ['data', 'track_state', 'error', 'layers', 'active_speakers'] as const;

/** A data channel message (text or bytes) as a protocol message; null (logged) for a bad one. */
export function readChannelMessage(raw: unknown): Message | null {
  const text = typeof raw === 'string' ? raw : raw instanceof ArrayBuffer ? new TextDecoder().decode(raw) : null;
  if (text === null) return null;
  try {
    return parseMessage(text, [...CHANNEL_ACTIONS]);
  } catch (exc) {
    console.warn('arbiter: ignoring a bad data channel message', exc);
    return null;
  }
}

/** What the app receives for a `data` message; null for bytes that are not base64. */
export function receivedData(message: DataMessage): ReceivedData | null {
  let data: string | Uint8Array = message.data;
  if (message.kind === 'bytes') {
    try {
      data = Uint8Array.from(atob(message.data), (ch) => ch.charCodeAt(0));
    } catch {
      return null;
    }
  }
  return { senderId: message.sender ?? null, data, topic: message.topic ?? null, id: message.id };
}

/** The `data` message that sends `data` (text, or bytes as base64) with message id `id`. */
export function dataMessage(id: string, data: string | Uint8Array, options: { topic?: string; to?: string[] }): DataMessage {
  const isText = typeof data === 'string';
  return makeMessage('data', {
    kind: isText ? 'text' : 'bytes',
    data: isText ? data : btoa(String.fromCharCode(...data)),
    id,
    to: options.to ?? null,
    topic: options.topic ?? null,
  });
}
