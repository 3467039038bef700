import * as React from 'react';
import { tilesPerPage } from '../../core/layout.js';
import type { Participant } from '../../core/room.js';
import { usePagination } from '../../hooks/usePagination.js';
import { useVisibleVideo } from '../../hooks/useVisibleVideo.js';
import { ParticipantTile } from '../participant/ParticipantTile.js';
import { GridLayout } from './GridLayout.js';
import { SpeakerTile, useOffPageSpeaker } from './OffPageSpeaker.js';
import { PageControls } from './PageControls.js';
import { useBoxSize } from './useBoxSize.js';

/** Props of {@link PagedGrid}. @public */
export interface PagedGridProps extends React.HTMLAttributes<HTMLDivElement> {
  /** The participants to show, in order (the default layout gives the remote ones). */
  participants: readonly Participant[];
  /** Smallest tile width in pixels: as many tiles as fit at this size make a page. Default 240. */
  minTileWidth?: number;
  /** At most this many tiles a page, whatever fits. */
  maxTilesPerPage?: number;
  /** A custom tile instead of {@link ParticipantTile}. */
  renderParticipant?: (participant: Participant) => React.ReactNode;
}

const CONTROLS_HEIGHT = 44;

/**
 * A grid of participant tiles in pages: as many tiles as the space fits at `minTileWidth`
 * per page, previous/next buttons when there are more. Only the video on the page (and the
 * loudest speaker's) is received ({@link useVisibleVideo}): the other participants' video is
 * paused at the SFU, so a full room costs only what is shown.
 *
 * @example
 * ```tsx
 * <PagedGrid participants={useParticipants().filter((p) => !p.isLocal)} />
 * ```
 * @public
 */
export const PagedGrid = React.forwardRef<HTMLDivElement, PagedGridProps>(function PagedGrid(
  { participants, minTileWidth = 240, maxTilesPerPage, renderParticipant, className, ...props },
  ref,
) {
  const inner = React.useRef<HTMLDivElement | null>(null);
  React.useImperativeHandle(ref, () => inner.current as HTMLDivElement);
  const size = useBoxSize(inner);
  const fits = size ? tilesPerPage(size.width, size.height - CONTROLS_HEIGHT, minTileWidth) : participants.length;
  const pageSize = Math.max(1, Math.min(fits, maxTilesPerPage ?? Infinity));
  const pagination = usePagination(participants.length, pageSize);
  const shown = participants.slice(pagination.start, pagination.end);
  useVisibleVideo(size ? shown : participants);
  // the speaker of another page gets a cell after the page's tiles (never over one of them)
  const speaker = useOffPageSpeaker(shown);
  return (
    <div
      ref={inner}
      className={['arb-paged', className ?? ''].filter(Boolean).join(' ')}
      data-page-size={pageSize}
      data-page={pagination.page + 1}
      data-pages={pagination.pages}
      {...props}
    >
      <GridLayout count={shown.length + (speaker ? 1 : 0)} aria-label="Participants">
        {shown.map((p) =>
          renderParticipant ? (
            <React.Fragment key={p.id}>{renderParticipant(p)}</React.Fragment>
          ) : (
            <ParticipantTile key={p.id} participant={p} />
          ),
        )}
        {speaker ? <SpeakerTile speaker={speaker} /> : null}
      </GridLayout>
      <PageControls pagination={pagination} />
    </div>
  );
});
