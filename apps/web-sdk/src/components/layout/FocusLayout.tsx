import * as React from 'react';
import type { Participant } from '../../core/room.js';
import { usePagination } from '../../hooks/usePagination.js';
import { useVisibleVideo } from '../../hooks/useVisibleVideo.js';
import { ParticipantTile } from '../participant/ParticipantTile.js';
import { ScreenTile } from '../participant/ScreenTile.js';
import { OffPageSpeaker } from './OffPageSpeaker.js';
import { PageControls } from './PageControls.js';
import { useBoxSize } from './useBoxSize.js';

/** Props of {@link FocusLayout}. @public */
export interface FocusLayoutProps extends React.HTMLAttributes<HTMLDivElement> {
  /** Who presents: its shared screen fills the main area. */
  presenter: Participant;
  /** The camera tiles beside it, in order (paged to what fits the strip). */
  participants: readonly Participant[];
  /** A custom tile instead of {@link ParticipantTile}. */
  renderParticipant?: (participant: Participant) => React.ReactNode;
}

const STRIP_TILE = 240 / (16 / 9) + 8;
const CONTROLS_HEIGHT = 44;

/**
 * A shared screen large, the camera tiles in a strip beside it (as many as fit; pages for
 * the rest). Only the strip's video (and the loudest speaker's) is received, and the screen.
 *
 * @example
 * ```tsx
 * <FocusLayout presenter={presenter} participants={others} />
 * ```
 * @public
 */
export const FocusLayout = React.forwardRef<HTMLDivElement, FocusLayoutProps>(function FocusLayout(
  { presenter, participants, renderParticipant, className, ...props },
  ref,
) {
  const strip = React.useRef<HTMLElement | null>(null);
  const size = useBoxSize(strip);
  const fits = size ? Math.max(1, Math.floor((size.height - CONTROLS_HEIGHT + 8) / STRIP_TILE)) : participants.length;
  const pagination = usePagination(participants.length, fits);
  const shown = participants.slice(pagination.start, pagination.end);
  useVisibleVideo(size ? shown : participants);
  return (
    <div ref={ref} className={['arb-focus', className ?? ''].filter(Boolean).join(' ')} {...props}>
      <ScreenTile participant={presenter} className="arb-focus__main" />
      <aside
        ref={strip}
        className="arb-focus__strip"
        aria-label="Participants"
        data-page-size={fits}
        data-page={pagination.page + 1}
        data-pages={pagination.pages}
      >
        {shown.map((p) =>
          renderParticipant ? (
            <React.Fragment key={p.id}>{renderParticipant(p)}</React.Fragment>
          ) : (
            <ParticipantTile key={p.id} participant={p} />
          ),
        )}
        <PageControls pagination={pagination} />
        <OffPageSpeaker shown={shown} />
      </aside>
    </div>
  );
});
