import * as React from 'react';
import type { ArbiterError } from '../core/errors.js';
import type { ActiveDevices, Participant, RoomEnvironment } from '../core/room.js';
import { RoomContext } from '../context/room-context.js';
import { useArbiterRoom } from '../hooks/useArbiterRoom.js';
import { useConnectionState } from '../hooks/useConnectionState.js';
import { useModeration } from '../hooks/useModeration.js';
import { VideoConference } from './VideoConference.js';
import { PreJoin } from '../components/PreJoin.js';

/** Props of {@link ArbiterRoom}. @public */
export interface ArbiterRoomProps extends Omit<React.HTMLAttributes<HTMLDivElement>, 'onError'> {
  /** The room URL, e.g. `http://127.0.0.1:8080/rooms/demo`. The only required prop. */
  url: string;
  /**
   * A join grant minted by the app's backend (`arbiter_admin`, `POST /v1/grants`): needed
   * for a private room; it sets the name, so no pre-join screen asks for one.
   */
  token?: string;
  /** Display name. Without it, a pre-join screen asks for one (button `Join`). */
  name?: string;
  /** Show the pre-join screen even with a `name` (it is then the default). */
  preJoin?: boolean;
  /** Start with the camera on. Default true. */
  video?: boolean;
  /** Start with the microphone on. Default true. */
  audio?: boolean;
  onJoined?: (info: { roomId: string; participantId: string }) => void;
  onLeft?: (reason: string) => void;
  onError?: (error: ArbiterError) => void;
  /** Custom tile for a participant (used by the default layout). */
  renderParticipant?: (participant: Participant) => React.ReactNode;
  /** Your own room UI (hooks work inside); default {@link VideoConference}. */
  children?: React.ReactNode;
  /** ICE candidates the connections may use (`relay`: through TURN only). Default `all`. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Replace browser APIs (tests). */
  environment?: Partial<RoomEnvironment>;
}

/**
 * A whole video room in one component: joins `url`, shows a responsive grid of
 * participants with names, mute state and a speaking indicator, microphone/camera/leave
 * controls and a chat. Leaves on unmount; joins once under React StrictMode.
 *
 * @example
 * ```tsx
 * <ArbiterRoom url="http://127.0.0.1:8080/rooms/demo" name="Ada" onLeft={() => navigate('/')} />
 * // a private room: the grant your backend minted for this user
 * <ArbiterRoom url={roomUrl} token={grant} />
 * ```
 * @public
 */
export const ArbiterRoom = React.forwardRef<HTMLDivElement, ArbiterRoomProps>(function ArbiterRoom(
  {
    url,
    token,
    name,
    preJoin,
    video,
    audio,
    onJoined,
    onLeft,
    onError,
    renderParticipant,
    children,
    iceTransportPolicy,
    environment,
    className,
    ...props
  },
  ref,
) {
  const showPreJoin = preJoin ?? (name === undefined && token === undefined);
  const [chosenName, setChosenName] = React.useState<string | null>(showPreJoin ? null : (name ?? 'guest'));
  const [devices, setDevices] = React.useState<ActiveDevices | undefined>(undefined);
  const [error, setError] = React.useState<ArbiterError | null>(null);
  const room = useArbiterRoom({
    url,
    name: chosenName ?? undefined,
    devices,
    token,
    audio,
    video,
    connect: chosenName !== null,
    iceTransportPolicy,
    environment,
    onJoined,
    onLeft,
    onError: (e) => {
      if (!['permission_denied', 'device_not_found', 'device_in_use', 'media_error'].includes(e.code)) setError(e);
      onError?.(e);
    },
  });

  let body: React.ReactNode;
  if (chosenName === null) {
    body = (
      <PreJoin
        defaultName={name ?? ''}
        onJoin={(n, d) => {
          setDevices(d);
          setChosenName(n);
        }}
        title={roomTitle(url)}
      />
    );
  } else if (!room) {
    body = (
      <p className="arb-status" role="status">
        Joining…
      </p>
    );
  } else {
    body = (
      <RoomContext.Provider value={room}>
        <RoomBody
          error={error}
          onRejoin={() => {
            setError(null);
            setChosenName(null);
            if (!showPreJoin) setTimeout(() => setChosenName(name ?? 'guest'), 0);
          }}
        >
          {children ?? <VideoConference renderParticipant={renderParticipant} />}
        </RoomBody>
      </RoomContext.Provider>
    );
  }
  return (
    <div ref={ref} className={['arb-room', className ?? ''].filter(Boolean).join(' ')} {...props}>
      {body}
    </div>
  );
});

function RoomBody({
  error,
  onRejoin,
  children,
}: {
  error: ArbiterError | null;
  onRejoin: () => void;
  children: React.ReactNode;
}) {
  const state = useConnectionState();
  const { removed } = useModeration();
  if (state === 'waiting') {
    return (
      <p className="arb-status" role="status">
        Waiting for a moderator to let you in…
      </p>
    );
  }
  if (state === 'removed') {
    const why =
      removed?.reason === 'denied'
        ? 'A moderator did not let you in.'
        : removed?.reason === 'room_ended'
          ? 'The room was ended for everyone.'
          : 'You were removed from the room.';
    return (
      <div className="arb-ended" data-removed={removed?.reason ?? 'removed'}>
        <p role="alert">
          {why}
          {removed?.message ? ` (${removed.message})` : ''}
        </p>
      </div>
    );
  }
  if (state === 'disconnected' || state === 'failed') {
    return (
      <div className="arb-ended">
        {state === 'failed' ? (
          <p role="alert">Could not stay in the room: {error?.message ?? 'the connection failed'}.</p>
        ) : (
          <p role="status">You left the room.</p>
        )}
        <button type="button" className="arb-button arb-button--primary" onClick={onRejoin}>
          Rejoin
        </button>
      </div>
    );
  }
  return <>{children}</>;
}

function roomTitle(url: string): string {
  try {
    const parts = new URL(url, globalThis.location?.href).pathname.split('/').filter(Boolean);
    return `Join ${decodeURIComponent(parts[parts.length - 1] ?? 'the room')}`;
  } catch {
    return 'Join the room';
  }
}
