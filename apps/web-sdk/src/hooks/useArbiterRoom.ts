import * as React from 'react';
import type { ArbiterError } from '../core/errors.js';
import { Room, type ActiveDevices, type RoomEnvironment } from '../core/room.js';

/** Options of {@link useArbiterRoom}. @public */
export interface UseArbiterRoomOptions {
  /** The room URL. */
  url: string;
  /** Display name. */
  name?: string;
  /** Start with the microphone on (read when joining). Default true. */
  audio?: boolean;
  /** Start with the camera on (read when joining). Default true. */
  video?: boolean;
  /** False holds off joining (e.g. while a pre-join screen is shown). Default true. */
  connect?: boolean;
  /** A join grant minted by the app's backend (needed for a private room). */
  token?: string;
  onJoined?: (info: { roomId: string; participantId: string }) => void;
  onLeft?: (reason: string) => void;
  onError?: (error: ArbiterError) => void;
  /** The camera, microphone and speaker to start with (read when joining). */
  devices?: ActiveDevices;
  /** ICE candidates the connections may use (`relay`: through TURN only). Read when joining. Default `all`. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Replace browser APIs (tests). Read when joining. */
  environment?: Partial<RoomEnvironment>;
}

/**
 * Create a {@link Room} and join it while the calling component is mounted; leave on
 * unmount or when `url`/`name` change. Joining starts one task later than the effect,
 * so React StrictMode's mount-unmount-mount joins exactly once.
 *
 * @example
 * ```tsx
 * const room = useArbiterRoom({ url, name: 'Ada' });
 * return room ? <RoomContext.Provider value={room}>...</RoomContext.Provider> : null;
 * ```
 * @public
 */
export function useArbiterRoom(options: UseArbiterRoomOptions): Room | undefined {
  const { url, name, token, connect = true } = options;
  const latest = React.useRef(options);
  latest.current = options;
  const [room, setRoom] = React.useState<Room | undefined>(undefined);

  React.useEffect(() => {
    if (!connect) return undefined;
    const o = latest.current;
    const r = new Room({
      url,
      name,
      token,
      audio: o.audio,
      video: o.video,
      devices: o.devices,
      iceTransportPolicy: o.iceTransportPolicy,
      environment: o.environment,
    });
    const offs = [
      r.on('joined', (info) => latest.current.onJoined?.(info)),
      r.on('left', (reason) => latest.current.onLeft?.(reason)),
      r.on('error', (error) => latest.current.onError?.(error)),
    ];
    setRoom(r);
    let started = false;
    const timer = setTimeout(() => {
      started = true;
      r.connect().catch(() => undefined); // reported through 'error' and the state
    }, 0);
    return () => {
      clearTimeout(timer);
      if (started) void r.disconnect();
      for (const off of offs) off();
      setRoom((current) => (current === r ? undefined : current));
    };
  }, [url, name, token, connect]);

  return room;
}
