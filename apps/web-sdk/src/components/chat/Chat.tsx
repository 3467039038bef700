import * as React from 'react';
import type { Room } from '../../core/room.js';
import { useChat } from '../../hooks/useChat.js';

/** Props of {@link Chat}. @public */
export interface ChatProps extends React.HTMLAttributes<HTMLElement> {
  room?: Room;
}

/**
 * The room's chat: a message log and a form to send.
 * @example
 * ```tsx
 * <Chat />
 * ```
 * @public
 */
export const Chat = React.forwardRef<HTMLElement, ChatProps>(function Chat({ room, className, ...props }, ref) {
  const { messages, send, canSend } = useChat(room);
  const [text, setText] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const log = React.useRef<HTMLOListElement | null>(null);
  React.useEffect(() => {
    const el = log.current;
    if (el && typeof el.scrollTo === 'function') el.scrollTo({ top: el.scrollHeight });
  }, [messages]);
  const onSubmit = (event: React.FormEvent) => {
    event.preventDefault();
    if (!text.trim()) return;
    try {
      send(text);
      setText('');
      setError(null);
    } catch (exc) {
      setError((exc as Error).message);
    }
  };
  return (
    <section ref={ref} aria-label="Chat" className={['arb-chat', className ?? ''].filter(Boolean).join(' ')} {...props}>
      <ol ref={log} className="arb-chat__log" role="log" aria-label="Chat messages" aria-live="polite">
        {messages.map((m) => (
          <li key={`${m.senderId}:${m.id}`} className="arb-chat__message" data-local={m.isLocal ? 'true' : 'false'}>
            <span className="arb-chat__sender">{m.isLocal ? 'You' : m.senderName}</span>
            <span className="arb-chat__text">{m.text}</span>
          </li>
        ))}
      </ol>
      <form className="arb-chat__form" onSubmit={onSubmit}>
        <input
          aria-label="Message"
          placeholder="Message"
          value={text}
          maxLength={4000}
          onChange={(e) => setText(e.target.value)}
          disabled={!canSend}
        />
        <button type="submit" className="arb-button" disabled={!canSend || !text.trim()}>
          Send
        </button>
      </form>
      {error && (
        <p role="alert" className="arb-chat__error">
          {error}
        </p>
      )}
    </section>
  );
});
