import * as React from 'react';
import type { Participant, Room } from '../core/room.js';
import { useParticipants } from './useParticipants.js';

/** Which kind of track. @public */
export type TrackKind = 'audio' | 'video';

/** A track with its participant. @public */
export interface TrackReference {
  participant: Participant;
  kind: TrackKind;
  track: MediaStreamTrack;
}

/**
 * Every published track of these kinds, in participant order (pure; `useTracks` uses it).
 * @public
 */
export function tracksOf(participants: readonly Participant[], kinds: readonly TrackKind[]): TrackReference[] {
  const out: TrackReference[] = [];
  for (const participant of participants) {
    for (const kind of kinds) {
      const track = kind === 'audio' ? participant.audioTrack : participant.videoTrack;
      if (track) out.push({ participant, kind, track });
    }
  }
  return out;
}

/**
 * The room's tracks (default: video and audio), each with its participant.
 *
 * @example
 * ```tsx
 * const videos = useTracks({ kinds: ['video'] });
 * return videos.map((t) => <VideoTrack key={t.participant.id} track={t.track} />);
 * ```
 * @public
 */
export function useTracks(options: { kinds?: readonly TrackKind[]; room?: Room } = {}): TrackReference[] {
  const participants = useParticipants(options.room);
  const kinds = options.kinds ?? ['video', 'audio'];
  const key = kinds.join(',');
  // `key` stands for `kinds`, which callers often pass as a new array on every render
  return React.useMemo(() => tracksOf(participants, key.split(',') as TrackKind[]), [participants, key]);
}
