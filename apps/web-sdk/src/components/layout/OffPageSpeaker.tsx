import type { Participant, Room } from '../../core/room.js';
import { useActiveSpeakers } from '../../hooks/useActiveSpeakers.js';
import { useParticipants } from '../../hooks/useParticipants.js';
import { loudestRemote } from '../../hooks/useVisibleVideo.js';
import { ParticipantTile } from '../participant/ParticipantTile.js';

/**
 * The loudest remote speaker's tile when it is not among `shown` (another page), small,
 * over the layout: whoever talks is seen. Its video is received for it
 * ({@link useVisibleVideo}).
 * @public
 */
export function OffPageSpeaker({ shown, room }: { shown: readonly Participant[]; room?: Room }) {
  const speakers = useActiveSpeakers(room);
  const participants = useParticipants(room);
  const loudest = loudestRemote(
    participants,
    speakers.map((p) => p.id),
  );
  if (!loudest || shown.some((p) => p.id === loudest.id)) return null;
  return <ParticipantTile participant={loudest} className="arb-tile--offpage" aria-label={`${loudest.name}, speaking`} />;
}
