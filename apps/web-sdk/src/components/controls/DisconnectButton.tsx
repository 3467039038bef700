import * as React from 'react';
import type { Room } from '../../core/room.js';
import { useEnsureRoom } from '../../context/room-context.js';
import { useConnectionState } from '../../hooks/useConnectionState.js';

/** Props of {@link DisconnectButton}. @public */
export interface DisconnectButtonProps extends React.ButtonHTMLAttributes<HTMLButtonElement> {
  room?: Room;
}

/**
 * Leaves the room.
 * @example
 * ```tsx
 * <DisconnectButton>Leave</DisconnectButton>
 * ```
 * @public
 */
export const DisconnectButton = React.forwardRef<HTMLButtonElement, DisconnectButtonProps>(function DisconnectButton(
  { room, children, onClick, className, ...props },
  ref,
) {
  const r = useEnsureRoom(room);
  const state = useConnectionState(r);
  return (
    <button
      ref={ref}
      type="button"
      className={['arb-button', 'arb-button--leave', className ?? ''].filter(Boolean).join(' ')}
      disabled={state === 'disconnected' || state === 'failed'}
      onClick={(event) => {
        onClick?.(event);
        if (!event.defaultPrevented) void r.disconnect();
      }}
      {...props}
    >
      {children ?? 'Leave'}
    </button>
  );
});
