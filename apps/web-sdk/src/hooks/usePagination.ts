import * as React from 'react';

/** What {@link usePagination} returns. @public */
export interface Pagination {
  /** The page shown, from 0. */
  page: number;
  /** How many pages there are (at least 1). */
  pages: number;
  /** The first item index on the page and one past the last. */
  start: number;
  end: number;
  next: () => void;
  previous: () => void;
  setPage: (page: number) => void;
}

/**
 * Pages of `pageSize` over `count` items; the page is kept in range when items go away.
 *
 * @example
 * ```tsx
 * const { start, end, next, previous } = usePagination(participants.length, 6);
 * ```
 * @public
 */
export function usePagination(count: number, pageSize: number): Pagination {
  const size = Math.max(1, Math.floor(pageSize));
  const pages = Math.max(1, Math.ceil(count / size));
  const [wanted, setWanted] = React.useState(0);
  const page = Math.min(wanted, pages - 1);
  const setPage = React.useCallback((p: number) => setWanted(Math.max(0, p)), []);
  const next = React.useCallback(() => setWanted((p) => Math.min(p + 1, pages - 1)), [pages]);
  const previous = React.useCallback(() => setWanted((p) => Math.max(0, Math.min(p, pages - 1) - 1)), [pages]);
  return { page, pages, start: page * size, end: Math.min(count, (page + 1) * size), next, previous, setPage };
}
