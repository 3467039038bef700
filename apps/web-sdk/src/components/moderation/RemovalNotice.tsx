import * as React from 'react';
import type { Room } from '../../core/room.js';
import { useEnsureRoom } from '../../context/room-context.js';

/** Props of {@link RemovalNotice}. @public */
export interface RemovalNoticeProps extends React.HTMLAttributes<HTMLParagraphElement> {
  room?: Room;
  /** Seconds the notice stays up. Default 8. */
  duration?: number;
}

/**
 * Says who was just removed from the room, and by whom (a moderator, or the app): the
 * room's `participantRemoved`, shown for a few seconds as a status line.
 *
 * @example
 * ```tsx
 * <RemovalNotice duration={5} />
 * ```
 * @public
 */
export const RemovalNotice = React.forwardRef<HTMLParagraphElement, RemovalNoticeProps>(function RemovalNotice(
  { room, duration = 8, className, ...props },
  ref,
) {
  const r = useEnsureRoom(room);
  const [text, setText] = React.useState<string | null>(null);
  React.useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = r.on('participantRemoved', (participant, by) => {
      setText(`${participant.name} was removed by ${by === 'app' ? 'the app' : 'a moderator'}`);
      clearTimeout(timer);
      timer = setTimeout(() => setText(null), duration * 1000);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [r, duration]);
  if (!text) return null;
  return (
    <p ref={ref} role="status" className={['arb-status', 'arb-removal', className ?? ''].filter(Boolean).join(' ')} {...props}>
      {text}
    </p>
  );
});
