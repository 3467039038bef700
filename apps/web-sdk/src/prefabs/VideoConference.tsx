import * as React from 'react';
import type { Participant, Room } from '../core/room.js';
import { Chat } from '../components/chat/Chat.js';
import { FocusLayout } from '../components/layout/FocusLayout.js';
import { GridLayout } from '../components/layout/GridLayout.js';
import { PagedGrid } from '../components/layout/PagedGrid.js';
import { LobbyPanel } from '../components/moderation/LobbyPanel.js';
import { ModeratorControls } from '../components/moderation/ModeratorControls.js';
import { RemovalNotice } from '../components/moderation/RemovalNotice.js';
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
  /** Smallest tile width of the paged grid, in pixels (a page is what fits). Default 240. */
  minTileWidth?: number;
}

/**
 * The whole room UI: the participants in pages of what fits ({@link PagedGrid}), or a shared
 * screen large with the cameras beside it ({@link FocusLayout}) while someone presents;
 * your own camera small in a corner; remote audio, the control bar and the chat. Only the
 * video on screen is received. Who was removed shows for a few seconds; for a moderator,
 * the lobby and each tile's moderation buttons too.
 * @example
 * ```tsx
 * <ArbiterRoom url={url}><VideoConference chat={false} /></ArbiterRoom>
 * ```
 * @public
 */
export const VideoConference = React.forwardRef<HTMLDivElement, VideoConferenceProps>(function VideoConference(
  { room, renderParticipant, chat = true, minTileWidth, className, ...props },
  ref,
) {
  const participants = useParticipants(room);
  const state = useConnectionState(room);
  const local = participants.find((p) => p.isLocal);
  const remote = participants.filter((p) => !p.isLocal);
  // a remote presenter first (what the others show), else our own screen
  const presenter = remote.find((p) => p.screenTrack) ?? (local?.screenTrack ? local : undefined);
  // each tile carries the moderation buttons (shown to a moderator only)
  const render =
    renderParticipant ??
    ((p: Participant) => (
      <ParticipantTile participant={p}>
        <ModeratorControls participant={p} room={room} />
      </ParticipantTile>
    ));
  const tile = (p: Participant) => <React.Fragment key={p.id}>{render(p)}</React.Fragment>;
  let main: React.ReactNode;
  if (presenter) {
    main = <FocusLayout presenter={presenter} participants={remote} renderParticipant={render} />;
  } else if (remote.length > 0) {
    main = <PagedGrid participants={remote} minTileWidth={minTileWidth} renderParticipant={render} />;
  } else {
    main = (
      <GridLayout count={local ? 1 : 0} aria-label="Participants">
        {local && tile(local)}
      </GridLayout>
    );
  }
  return (
    <div
      ref={ref}
      className={['arb-conference', className ?? ''].filter(Boolean).join(' ')}
      data-state={state}
      data-layout={presenter ? 'focus' : 'grid'}
      {...props}
    >
      <div className="arb-conference__main">
        <MediaProblemBanner room={room} />
        <LobbyPanel room={room} />
        <RemovalNotice room={room} />
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
        <div className="arb-stage">
          {main}
          {local && (remote.length > 0 || presenter) && (
            <div className="arb-self" aria-label="Your camera">
              {tile(local)}
            </div>
          )}
        </div>
        <ControlBar room={room} />
      </div>
      {chat && <Chat room={room} className="arb-conference__chat" />}
      <RoomAudioRenderer room={room} />
    </div>
  );
});
