import * as React from 'react';
import type { Room } from '../core/room.js';
import { DisconnectButton } from '../components/controls/DisconnectButton.js';
import { HandRaiseToggle } from '../components/controls/HandRaiseToggle.js';
import { MediaDeviceSelect } from '../components/controls/MediaDeviceSelect.js';
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
 * Microphone, camera, screen share, raise hand, device settings and leave buttons (and,
 * for a moderator, `End for all`). The settings panel switches the camera, microphone and
 * speaker mid-call.
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
  const [settings, setSettings] = React.useState(false);
  const panel = React.useId();
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
      <TrackToggle kind="screen" room={room} />
      <HandRaiseToggle room={room} />
      <button
        type="button"
        className="arb-button"
        aria-expanded={settings}
        aria-controls={panel}
        onClick={() => setSettings((s) => !s)}
      >
        Devices
      </button>
      {extra}
      {isModerator && (
        <button type="button" className="arb-button arb-button--leave" onClick={() => endRoom()}>
          End for all
        </button>
      )}
      <DisconnectButton room={room} />
      {settings && (
        <div id={panel} className="arb-devices" role="group" aria-label="Devices">
          <MediaDeviceSelect kind="videoinput" room={room} />
          <MediaDeviceSelect kind="audioinput" room={room} />
          <MediaDeviceSelect kind="audiooutput" room={room} />
        </div>
      )}
    </div>
  );
});
