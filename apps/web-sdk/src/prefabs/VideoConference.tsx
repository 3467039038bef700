import * as React from 'react';
import type { Participant, Room } from '../core/room.js';
import { Chat } from '../components/chat/Chat.js';
import { GridLayout } from '../components/layout/GridLayout.js';
import { ParticipantTile } from '../components/participant/ParticipantTile.js';
import { RoomAudioRenderer } from '../components/participant/RoomAudioRenderer.js';
import { useConnectionState } from '../hooks/useConnectionState.js';
import { useParticipants } from '../hooks/useParticipants.js';
import { ControlBar } from './ControlBar.js';
import { MediaProblemBanner } from './MediaProblemBanner.js';

/** Props of {@link VideoConference}. @public */
export interface VideoConferenceProps extends React.HTMLAttributes<HTMLDivElement> {
  room?: Room;
  /** Render a custom tile for a participant instead of {@link ParticipantTile}. */
  renderParticipant?: (participant: Participant) => React.ReactNode;
  /** Show the chat panel. Default true. */
  chat?: boolean;
}

/**
 * The whole room UI: the participant grid, remote audio, the control bar and the chat.
 * @example
 * ```tsx
 * <ArbiterRoom url={url}><VideoConference chat={false} /></ArbiterRoom>
 * ```
 * @public
 */
export const VideoConference = React.forwardRef<HTMLDivElement, VideoConferenceProps>(function VideoConference(
  { room, renderParticipant, chat = true, className, ...props },
  ref,
) {
  const participants = useParticipants(room);
  const state = useConnectionState(room);
  return (
    <div
      ref={ref}
      className={['arb-conference', className ?? ''].filter(Boolean).join(' ')}
      data-state={state}
      {...props}
    >
      <div className="arb-conference__main">
        <MediaProblemBanner room={room} />
        {state === 'connecting' && (
          <p className="arb-status" role="status">
            Joining…
          </p>
        )}
        {state === 'reconnecting' && (
          <p className="arb-status" role="status">
            Reconnecting…
          </p>
        )}
        <GridLayout count={participants.length} aria-label="Participants">
          {participants.map((p) =>
            renderParticipant ? (
              <React.Fragment key={p.id}>{renderParticipant(p)}</React.Fragment>
            ) : (
              <ParticipantTile key={p.id} participant={p} />
            ),
          )}
        </GridLayout>
        <ControlBar room={room} />
      </div>
      {chat && <Chat room={room} className="arb-conference__chat" />}
      <RoomAudioRenderer room={room} />
    </div>
  );
});
