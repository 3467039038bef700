import * as React from 'react';
import type { Participant, Room } from '../core/room.js';
import type { TrackSource } from '../core/protocol/index.js';
import { useParticipants } from './useParticipants.js';

/** Which kind of track. @public */
export type TrackKind = 'audio' | 'video';

/** A track with its participant and what it is. @public */
export interface TrackReference {
  participant: Participant;
  kind: TrackKind;
  /** `microphone`, `camera`, `screen` ... */
  source: TrackSource;
  /** The publisher's id for it (`microphone`, `camera`, `screen` ...). */
  trackId: string;
  track: MediaStreamTrack;
}

/** Filters of {@link tracksOf} and {@link useTracks}. @public */
export interface TrackFilter {
  /** Only these kinds (default: video and audio). */
  kinds?: readonly TrackKind[];
  /** Only these sources (default: every source), e.g. `['screen']` for shared screens. */
  sources?: readonly TrackSource[];
}

/**
 * Every track of these kinds and sources, in participant order, each participant's
 * microphone, camera and screen in that order (pure; `useTracks` uses it).
 * @public
 */
export function tracksOf(
  participants: readonly Participant[],
  kinds: readonly TrackKind[],
  sources?: readonly TrackSource[],
): TrackReference[] {
  const out: TrackReference[] = [];
  for (const participant of participants) {
    const candidates: [TrackKind, TrackSource, string, MediaStreamTrack | null][] = [
      ['audio', 'microphone', 'microphone', participant.audioTrack],
      ['video', 'camera', 'camera', participant.videoTrack],
      ['video', 'screen', 'screen', participant.screenTrack],
    ];
    for (const [kind, main, mainId, track] of candidates) {
      if (!track || !kinds.includes(kind)) continue;
      const ref = participant.tracks.find((t) => t.track === track);
      const source = ref?.source ?? main;
      if (sources && !sources.includes(source)) continue;
      out.push({ participant, kind, source, trackId: ref?.id ?? mainId, track });
    }
  }
  return out;
}

/**
 * The room's tracks (default: video and audio of every source), each with its participant.
 *
 * @example
 * ```tsx
 * const screens = useTracks({ kinds: ['video'], sources: ['screen'] });
 * return screens.map((t) => <VideoTrack key={t.participant.id} track={t.track} />);
 * ```
 * @public
 */
export function useTracks(options: TrackFilter & { room?: Room } = {}): TrackReference[] {
  const participants = useParticipants(options.room);
  // the keys stand for the arrays, which callers often pass anew on every render
  const kinds = (options.kinds ?? ['video', 'audio']).join(',');
  const sources = options.sources?.join(',') ?? null;
  return React.useMemo(
    () =>
      tracksOf(
        participants,
        kinds.split(',') as TrackKind[],
        sources === null ? undefined : (sources.split(',') as TrackSource[]),
      ),
    [participants, kinds, sources],
  );
}
