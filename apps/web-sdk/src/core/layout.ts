/**
 * A grid for `count` tiles in a `width` x `height` box with `gap` between tiles: the
 * columns and rows that make the tiles (of `aspect` width/height) as large as possible.
 *
 * @example
 * ```ts
 * gridLayout(4, 1280, 720); // { columns: 2, rows: 2, tileWidth: 640, tileHeight: 360 }
 * ```
 * @public
 */
export function gridLayout(
  count: number,
  width: number,
  height: number,
  aspect = 16 / 9,
  gap = 0,
): { columns: number; rows: number; tileWidth: number; tileHeight: number } {
  if (count <= 0 || width <= 0 || height <= 0) {
    return { columns: 1, rows: Math.max(count, 0) > 0 ? 1 : 0, tileWidth: 0, tileHeight: 0 };
  }
  let best = { columns: 1, rows: count, tileWidth: 0, tileHeight: 0 };
  for (let columns = 1; columns <= count; columns++) {
    const rows = Math.ceil(count / columns);
    let tileWidth = (width - gap * (columns - 1)) / columns;
    let tileHeight = tileWidth / aspect;
    if (tileHeight * rows + gap * (rows - 1) > height) {
      tileHeight = (height - gap * (rows - 1)) / rows;
      tileWidth = tileHeight * aspect;
    }
    if (tileWidth > best.tileWidth) best = { columns, rows, tileWidth, tileHeight };
  }
  return {
    ...best,
    tileWidth: Math.floor(best.tileWidth),
    tileHeight: Math.floor(best.tileHeight),
  };
}

/**
 * How many tiles of at least `minTileWidth` pixels (and `aspect` width/height) fit a
 * `width` x `height` box with `gap` between tiles: one page of a paged grid (at least 1).
 *
 * @example
 * ```ts
 * tilesPerPage(1000, 600, 240); // 4 columns x 3 rows = 12
 * ```
 * @public
 */
export function tilesPerPage(width: number, height: number, minTileWidth = 240, aspect = 16 / 9, gap = 8): number {
  if (width <= 0 || height <= 0) return 1;
  const minHeight = minTileWidth / aspect;
  const columns = Math.max(1, Math.floor((width + gap) / (minTileWidth + gap)));
  const rows = Math.max(1, Math.floor((height + gap) / (minHeight + gap)));
  return columns * rows;
}
