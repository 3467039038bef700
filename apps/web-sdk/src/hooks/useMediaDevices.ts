import * as React from 'react';
import { listDevices, type DeviceKind } from '../core/devices.js';
import type { Room } from '../core/room.js';
import { useMaybeRoom } from '../context/room-context.js';

/**
 * The media devices of `kind` (`audioinput`, `videoinput`, `audiooutput`), kept up to date
 * when devices are plugged in or out (`devicechange`).
 *
 * @example
 * ```tsx
 * const cameras = useMediaDevices('videoinput');
 * ```
 * @public
 */
export function useMediaDevices(kind: DeviceKind): readonly MediaDeviceInfo[] {
  const [devices, setDevices] = React.useState<readonly MediaDeviceInfo[]>([]);
  React.useEffect(() => {
    let live = true;
    const refresh = () => {
      listDevices(kind).then(
        (found) => {
          if (live) setDevices(found);
        },
        () => undefined,
      );
    };
    refresh();
    const media = (globalThis as { navigator?: Navigator }).navigator?.mediaDevices;
    media?.addEventListener?.('devicechange', refresh);
    return () => {
      live = false;
      media?.removeEventListener?.('devicechange', refresh);
    };
  }, [kind]);
  return devices;
}

/** What {@link useMediaDeviceSelect} returns. @public */
export interface UseMediaDeviceSelectResult {
  devices: readonly MediaDeviceInfo[];
  /** The device in use (or chosen, before joining); undefined: the browser's default. */
  activeDeviceId: string | undefined;
  /** Use another device: in a room at once (no renegotiation), before one for the join. */
  setActiveMediaDevice: (deviceId: string) => Promise<void>;
}

/**
 * The devices of one kind and the one in use: inside a room, choosing switches the room's
 * camera, microphone (`replaceTrack`) or speaker (`setSinkId`) mid-call; outside (a
 * pre-join screen) it only remembers the choice, for `ArbiterRoom`'s `devices`.
 *
 * @example
 * ```tsx
 * const { devices, activeDeviceId, setActiveMediaDevice } = useMediaDeviceSelect({ kind: 'audioinput' });
 * ```
 * @public
 */
export function useMediaDeviceSelect(options: {
  kind: DeviceKind;
  room?: Room;
  initial?: string;
}): UseMediaDeviceSelectResult {
  const { kind, initial } = options;
  const context = useMaybeRoom();
  const room = options.room ?? context;
  const devices = useMediaDevices(kind);
  const [chosen, setChosen] = React.useState<string | undefined>(initial);
  const [inRoom, setInRoom] = React.useState<string | undefined>(() => room?.activeDevices[kind]);
  React.useEffect(() => {
    if (!room) return undefined;
    setInRoom(room.activeDevices[kind]);
    return room.on('devicesChanged', (d) => setInRoom(d[kind]));
  }, [room, kind]);
  const setActiveMediaDevice = React.useCallback(
    async (deviceId: string) => {
      if (room) await room.switchDevice(kind, deviceId);
      else setChosen(deviceId);
    },
    [room, kind],
  );
  return { devices, activeDeviceId: room ? inRoom : chosen, setActiveMediaDevice };
}
