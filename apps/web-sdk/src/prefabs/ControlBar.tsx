import * as React from 'react';
import type { Room } from '../core/room.js';
import { DisconnectButton } from '../components/controls/DisconnectButton.js';
import { TrackToggle } from '../components/controls/TrackToggle.js';
import { useEnsureRoom } from '../context/room-context.js';
import { useModeration } from '../hooks/useModeration.js';

/** Props of {@link ControlBar}. @public */
export interface ControlBarProps extends React.HTMLAttributes<HTMLDivElement> {
  room?: Room;
  /** Extra controls after the built-in ones. */
  extra?: React.ReactNode;
}

/**
 * Microphone, camera and leave buttons (and, for a moderator, `End for all`).
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
  const { isModerator, endRoom } = useModeration(useEnsureRoom(room));
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
      {isModerator && (
        <button type="button" className="arb-button arb-button--leave" onClick={() => endRoom()}>
          End for all
        </button>
      )}
      <DisconnectButton room={room} />
    </div>
  );
});
