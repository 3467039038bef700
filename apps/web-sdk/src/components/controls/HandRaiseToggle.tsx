import * as React from 'react';
import type { Room } from '../../core/room.js';
import { useEnsureRoom } from '../../context/room-context.js';
import { useLocalParticipant } from '../../hooks/useParticipants.js';

/** Props of {@link HandRaiseToggle}. @public */
export interface HandRaiseToggleProps extends React.ButtonHTMLAttributes<HTMLButtonElement> {
  room?: Room;
}

/**
 * A button that raises and lowers this participant's hand; `aria-pressed` tells whether
 * it is raised (once the server has it: everyone sees the same).
 *
 * @example
 * ```tsx
 * <HandRaiseToggle />
 * ```
 * @public
 */
export const HandRaiseToggle = React.forwardRef<HTMLButtonElement, HandRaiseToggleProps>(function HandRaiseToggle(
  { room, children, className, ...props },
  ref,
) {
  const r = useEnsureRoom(room);
  const local = useLocalParticipant(r);
  const raised = local?.handRaised ?? false;
  return (
    <button
      ref={ref}
      type="button"
      aria-pressed={raised}
      disabled={!local}
      className={['arb-button', raised ? 'arb-button--raised' : '', className ?? ''].filter(Boolean).join(' ')}
      onClick={() => r.setHandRaised(!raised)}
      {...props}
    >
      {children ?? (raised ? 'Lower hand' : 'Raise hand')}
    </button>
  );
});
