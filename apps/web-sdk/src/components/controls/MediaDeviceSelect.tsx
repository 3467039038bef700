import * as React from 'react';
import type { DeviceKind } from '../../core/devices.js';
import type { Room } from '../../core/room.js';
import { useMediaDeviceSelect } from '../../hooks/useMediaDevices.js';

/** Props of {@link MediaDeviceSelect}. @public */
export interface MediaDeviceSelectProps extends Omit<React.SelectHTMLAttributes<HTMLSelectElement>, 'onChange'> {
  kind: DeviceKind;
  room?: Room;
  /** The device chosen first (before joining). */
  initial?: string;
  /** Called with the device chosen. */
  onChange?: (deviceId: string) => void;
}

const LABELS: Record<DeviceKind, string> = {
  videoinput: 'Camera',
  audioinput: 'Microphone',
  audiooutput: 'Speaker',
};

/**
 * A labelled `<select>` of the cameras, microphones or speakers: in a room, choosing one
 * switches to it mid-call (nothing is renegotiated); before joining, it is the choice
 * `onChange` reports.
 *
 * @example
 * ```tsx
 * <MediaDeviceSelect kind="videoinput" />
 * ```
 * @public
 */
export function MediaDeviceSelect({ kind, room, initial, onChange, className, ...props }: MediaDeviceSelectProps) {
  const { devices, activeDeviceId, setActiveMediaDevice } = useMediaDeviceSelect({ kind, room, initial });
  const id = React.useId();
  return (
    <div className={['arb-device', className ?? ''].filter(Boolean).join(' ')}>
      <label htmlFor={id}>{LABELS[kind]}</label>
      <select
        id={id}
        value={activeDeviceId ?? ''}
        onChange={(event) => {
          const deviceId = event.target.value;
          void setActiveMediaDevice(deviceId);
          onChange?.(deviceId);
        }}
        {...props}
      >
        {activeDeviceId === undefined && <option value="">Default</option>}
        {devices.map((d, i) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label || `${LABELS[kind]} ${i + 1}`}
          </option>
        ))}
      </select>
    </div>
  );
}
