import * as React from 'react';
import type { Pagination } from '../../hooks/usePagination.js';

/** Props of {@link PageControls}. @public */
export interface PageControlsProps extends React.HTMLAttributes<HTMLElement> {
  pagination: Pagination;
}

/**
 * Previous / next page buttons and "Page i of n" (nothing when there is one page).
 * @example
 * ```tsx
 * <PageControls pagination={usePagination(count, 6)} />
 * ```
 * @public
 */
export function PageControls({ pagination, className, ...props }: PageControlsProps) {
  const { page, pages, next, previous } = pagination;
  if (pages <= 1) return null;
  return (
    <nav aria-label="Pages" className={['arb-pages', className ?? ''].filter(Boolean).join(' ')} {...props}>
      <button type="button" className="arb-button" aria-label="Previous page" disabled={page === 0} onClick={previous}>
        ‹
      </button>
      <span role="status" aria-live="polite">
        Page {page + 1} of {pages}
      </span>
      <button
        type="button"
        className="arb-button"
        aria-label="Next page"
        disabled={page >= pages - 1}
        onClick={next}
      >
        ›
      </button>
    </nav>
  );
}
