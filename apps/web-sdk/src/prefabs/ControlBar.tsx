import * as React from 'react';
import type { Room } from '../core/room.js';
import { DisconnectButton } from '../components/controls/DisconnectButton.js';
import { TrackToggle } from '../components/controls/TrackToggle.js';

/** Props of {@link ControlBar}. @public */
export interface ControlBarProps extends React.HTMLAttributes<HTMLDivElement> {
  room?: Room;
  /** Extra controls after the built-in ones. */
  extra?: React.ReactNode;
}

/**
 * Microphone, camera and leave buttons.
 * @example
 * ```tsx
 * <ControlBar />
 * ```
 * @public
 */
export const ControlBar = React.forwardRef<HTMLDivElement, ControlBarProps>(function ControlBar(
  { room, extra, className, ...props },
  ref,
) {
  return (
    <div
      ref={ref}
      role="toolbar"
      aria-label="Room controls"
      className={['arb-controls', className ?? ''].filter(Boolean).join(' ')}
      {...props}
    >
      <TrackToggle kind="audio" room={room} />
      <TrackToggle kind="video" room={room} />
      {extra}
      <DisconnectButton room={room} />
    </div>
  );
});
