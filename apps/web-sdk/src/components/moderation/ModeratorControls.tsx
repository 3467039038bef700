import * as React from 'react';
import type { Participant, Room } from '../../core/room.js';
import { useModeration } from '../../hooks/useModeration.js';

/** Props of {@link ModeratorControls}. @public */
export interface ModeratorControlsProps extends React.HTMLAttributes<HTMLDivElement> {
  participant: Participant;
  room?: Room;
}

/**
 * A moderator's buttons for one other participant: hold its microphone or camera muted
 * (or let go), remove it. Renders nothing for non-moderators and for the local participant.
 *
 * @example
 * ```tsx
 * <ParticipantTile participant={p}><ModeratorControls participant={p} /></ParticipantTile>
 * ```
 * @public
 */
export const ModeratorControls = React.forwardRef<HTMLDivElement, ModeratorControlsProps>(
  function ModeratorControls({ participant: p, room, className, ...props }, ref) {
    const { isModerator, mute, remove } = useModeration(room);
    if (!isModerator || p.isLocal) return null;
    const micHeld = Boolean(p.audioLockedBy);
    const camHeld = Boolean(p.videoLockedBy);
    return (
      <div
        ref={ref}
        role="group"
        aria-label={`Moderate ${p.name}`}
        className={['arb-moderate', className ?? ''].filter(Boolean).join(' ')}
        {...props}
      >
        <button type="button" className="arb-button" aria-pressed={micHeld} onClick={() => mute(p.id, 'audio', !micHeld)}>
          {micHeld ? 'Allow microphone' : 'Mute microphone'}
        </button>
        <button type="button" className="arb-button" aria-pressed={camHeld} onClick={() => mute(p.id, 'video', !camHeld)}>
          {camHeld ? 'Allow camera' : 'Stop camera'}
        </button>
        <button type="button" className="arb-button arb-button--leave" onClick={() => remove(p.id)}>
          Remove
        </button>
      </div>
    );
  },
);
