import type { Room } from '../../core/room.js';
import { useParticipants } from '../../hooks/useParticipants.js';
import { AudioTrack } from './AudioTrack.js';

/**
 * Plays every remote participant's audio (hidden `<audio>` elements).
 * @example
 * ```tsx
 * <RoomAudioRenderer />
 * ```
 * @public
 */
export function RoomAudioRenderer({ room }: { room?: Room }) {
  const participants = useParticipants(room);
  return (
    <div style={{ display: 'none' }}>
      {participants
        .filter((p) => !p.isLocal && p.audioTrack)
        .map((p) => (
          <AudioTrack key={`${p.id}-${p.audioTrack!.id}`} track={p.audioTrack} data-participant-id={p.id} />
        ))}
    </div>
  );
}
