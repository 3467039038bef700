import type { Participant, Room } from '../../core/room.js';
import { useActiveSpeakers } from '../../hooks/useActiveSpeakers.js';
import { useParticipants } from '../../hooks/useParticipants.js';
import { loudestRemote } from '../../hooks/useVisibleVideo.js';
import { ParticipantTile } from '../participant/ParticipantTile.js';

/**
 * The loudest remote speaker when it is not among `shown` (it is on another page), or null.
 * @public
 */
export function useOffPageSpeaker(shown: readonly Participant[], room?: Room): Participant | null {
  const speakers = useActiveSpeakers(room);
  const participants = useParticipants(room);
  const loudest = loudestRemote(
    participants,
    speakers.map((p) => p.id),
  );
  if (!loudest || shown.some((p) => p.id === loudest.id)) return null;
  return loudest;
}

/**
 * The loudest remote speaker's tile when it is not among `shown` (another page): whoever
 * talks is seen. Its video is received for it ({@link useVisibleVideo}). {@link PagedGrid}
 * gives it a cell of its own after the page's tiles; {@link FocusLayout} shows it small over
 * the bottom of its strip.
 * @public
 */
export function OffPageSpeaker({ shown, room }: { shown: readonly Participant[]; room?: Room }) {
  const speaker = useOffPageSpeaker(shown, room);
  return speaker ? <SpeakerTile speaker={speaker} /> : null;
}

/** The tile of a speaker from another page (found by {@link useOffPageSpeaker}). */
export function SpeakerTile({ speaker }: { speaker: Participant }) {
  return <ParticipantTile participant={speaker} className="arb-tile--offpage" aria-label={`${speaker.name}, speaking`} />;
}
