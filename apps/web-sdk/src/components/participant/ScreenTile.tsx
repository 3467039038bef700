import * as React from 'react';
import type { Participant } from '../../core/room.js';
import { VideoTrack } from './VideoTrack.js';

/** Props of {@link ScreenTile}. @public */
export interface ScreenTileProps extends React.HTMLAttributes<HTMLDivElement> {
  /** Whose screen (its `screenTrack` is shown). */
  participant: Participant;
}

/**
 * A participant's shared screen, whole (letterboxed), with a caption.
 * @example
 * ```tsx
 * <ScreenTile participant={presenter} />
 * ```
 * @public
 */
export const ScreenTile = React.forwardRef<HTMLDivElement, ScreenTileProps>(function ScreenTile(
  { participant, className, ...props },
  ref,
) {
  const p = participant;
  const label = p.isLocal ? 'Your screen' : `${p.name}'s screen`;
  return (
    <div
      ref={ref}
      role="group"
      aria-label={label}
      className={['arb-screen', className ?? ''].filter(Boolean).join(' ')}
      data-screen-of={p.name}
      data-paused={p.screenEnabled ? 'false' : 'true'}
      {...props}
    >
      <VideoTrack className="arb-screen__video" track={p.screenTrack} aria-label={label} />
      <div className="arb-tile__bar">
        <span className="arb-tile__name">{p.isLocal ? 'You are presenting' : `${p.name} is presenting`}</span>
        {!p.screenEnabled && <span className="arb-tile__muted">paused</span>}
      </div>
    </div>
  );
});
