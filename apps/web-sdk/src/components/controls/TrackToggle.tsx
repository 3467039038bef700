import * as React from 'react';
import type { Room } from '../../core/room.js';
import { useTrackToggle } from '../../hooks/useTrackToggle.js';

/** Props of {@link TrackToggle}. @public */
export interface TrackToggleProps extends Omit<React.ButtonHTMLAttributes<HTMLButtonElement>, 'onChange'> {
  kind: 'audio' | 'video';
  room?: Room;
  onChange?: (enabled: boolean) => void;
}

/**
 * A button that turns the microphone (`audio`) or camera (`video`) on and off;
 * `aria-pressed` tells whether it is on.
 *
 * @example
 * ```tsx
 * <TrackToggle kind="audio" />
 * ```
 * @public
 */
export const TrackToggle = React.forwardRef<HTMLButtonElement, TrackToggleProps>(function TrackToggle(
  { kind, room, onChange, children, className, ...props },
  ref,
) {
  const { buttonProps, enabled } = useTrackToggle({ kind, room, onChange });
  const label = kind === 'audio' ? 'Microphone' : 'Camera';
  return (
    <button
      ref={ref}
      className={['arb-button', enabled ? '' : 'arb-button--off', className ?? ''].filter(Boolean).join(' ')}
      {...buttonProps}
      {...props}
    >
      {children ?? label}
    </button>
  );
});
