import * as React from 'react';
import type { Participant } from '../../core/room.js';
import { useTileQuality } from '../../hooks/useTileQuality.js';
import { VideoTrack } from './VideoTrack.js';

/** Props of {@link ParticipantTile}. @public */
export interface ParticipantTileProps extends React.HTMLAttributes<HTMLDivElement> {
  participant: Participant;
  /** Extra content at the bottom of the tile (e.g. {@link ModeratorControls}). */
  children?: React.ReactNode;
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0]![0], parts[parts.length - 1]![0]] : [...(parts[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}

/**
 * One participant: video (or initials when the camera is off), name, a raised hand,
 * microphone state and a speaking outline (the SFU's active speakers). A remote participant's tile asks the SFU for the video quality its
 * size needs ({@link useTileQuality}).
 *
 * @example
 * ```tsx
 * {useParticipants().map((p) => <ParticipantTile key={p.id} participant={p} />)}
 * ```
 * @public
 */
export const ParticipantTile = React.forwardRef<HTMLDivElement, ParticipantTileProps>(function ParticipantTile(
  { participant, className, children, ...props },
  ref,
) {
  const p = participant;
  const inner = React.useRef<HTMLDivElement | null>(null);
  React.useImperativeHandle(ref, () => inner.current as HTMLDivElement);
  useTileQuality(p, inner);
  const showVideo = p.videoTrack !== null && p.videoEnabled;
  const label = `${p.name}${p.isLocal ? ' (you)' : ''}`;
  return (
    <div
      ref={inner}
      role="group"
      aria-label={label}
      className={['arb-tile', p.isSpeaking ? 'arb-tile--speaking' : '', className ?? ''].filter(Boolean).join(' ')}
      data-participant-id={p.id}
      data-participant-name={p.name}
      data-local={p.isLocal ? 'true' : 'false'}
      data-speaking={p.isSpeaking ? 'true' : 'false'}
      data-muted={p.audioEnabled ? 'false' : 'true'}
      data-hand-raised={p.handRaised ? 'true' : 'false'}
      data-held={[p.audioLockedBy ? 'audio' : '', p.videoLockedBy ? 'video' : ''].filter(Boolean).join(' ') || undefined}
      {...props}
    >
      <VideoTrack
        className="arb-tile__video"
        track={p.videoTrack}
        mirror={p.isLocal}
        hidden={!showVideo}
        aria-label={`${label} video`}
      />
      {!showVideo && (
        <div className="arb-tile__placeholder" aria-hidden="true">
          {initials(p.name)}
        </div>
      )}
      <div className="arb-tile__bar">
        {p.handRaised && (
          <span className="arb-tile__hand" role="img" aria-label="hand raised">
            ✋
          </span>
        )}
        <span className="arb-tile__name">{label}</span>
        {!p.audioEnabled && (
          <span
            className="arb-tile__muted"
            role="img"
            aria-label={p.audioLockedBy ? 'microphone held muted by a moderator' : 'microphone off'}
          >
            <MicOffIcon />
          </span>
        )}
        {!p.videoEnabled && (
          <span
            className="arb-tile__muted"
            role="img"
            aria-label={p.videoLockedBy ? 'camera held off by a moderator' : 'camera off'}
          >
            <CameraOffIcon />
          </span>
        )}
        {p.isSpeaking && <span className="arb-visually-hidden">speaking</span>}
      </div>
      {children}
    </div>
  );
});

/** @internal */
export function MicOffIcon() {
  return (
    <svg width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
      <path d="M9 9v3a3 3 0 0 0 5.1 2.1M15 9.3V5a3 3 0 0 0-5.9-.7" />
      <path d="M19 10v2a7 7 0 0 1-.9 3.4M5 10v2a7 7 0 0 0 12 5M12 19v3" />
      <line x1="2" y1="2" x2="22" y2="22" />
    </svg>
  );
}

/** @internal */
export function CameraOffIcon() {
  return (
    <svg width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
      <path d="M16 16v1a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h2m5 0h4a2 2 0 0 1 2 2v3.3l1 1 5-3.3v8" />
      <line x1="1" y1="1" x2="23" y2="23" />
    </svg>
  );
}
