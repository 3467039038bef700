import * as React from 'react';
import type { ChatMessage, Room } from '../core/room.js';
import { useEnsureRoom } from '../context/room-context.js';
import { useRoomSnapshot } from './internal/useRoomSnapshot.js';

/** What {@link useChat} returns. @public */
export interface UseChatResult {
  /** Every chat message so far, oldest first. */
  messages: readonly ChatMessage[];
  /** Send a chat message to everyone; throws if the room is not connected. */
  send: (text: string) => ChatMessage;
  /** True while the room is connected (sending works). */
  canSend: boolean;
}

/**
 * The room's chat (`data` messages with topic `chat`).
 *
 * @example
 * ```tsx
 * const { messages, send } = useChat();
 * send('hello');
 * ```
 * @public
 */
export function useChat(room?: Room): UseChatResult {
  const r = useEnsureRoom(room);
  const messages = useRoomSnapshot(r, 'chatChanged', (x) => x.chatMessages);
  const state = useRoomSnapshot(r, 'connectionStateChanged', (x) => x.connectionState);
  const send = React.useCallback((text: string) => r.sendChat(text), [r]);
  return { messages, send, canSend: state === 'connected' };
}
