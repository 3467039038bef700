import * as React from 'react';
import { gridLayout } from '../../core/layout.js';

/** Props of {@link GridLayout}. @public */
export interface GridLayoutProps extends React.HTMLAttributes<HTMLDivElement> {
  /** Number of tiles (children), for the column count. */
  count: number;
}

/**
 * A responsive grid: picks the column count that makes `count` 16:9 tiles largest in the
 * space it has (measured with ResizeObserver).
 * @example
 * ```tsx
 * <GridLayout count={ps.length}>{ps.map((p) => <ParticipantTile key={p.id} participant={p} />)}</GridLayout>
 * ```
 * @public
 */
export const GridLayout = React.forwardRef<HTMLDivElement, GridLayoutProps>(function GridLayout(
  { count, className, style, children, ...props },
  ref,
) {
  const inner = React.useRef<HTMLDivElement | null>(null);
  React.useImperativeHandle(ref, () => inner.current as HTMLDivElement);
  const [size, setSize] = React.useState<{ width: number; height: number } | null>(null);
  React.useEffect(() => {
    const el = inner.current;
    if (!el || typeof ResizeObserver === 'undefined') return undefined;
    const observer = new ResizeObserver((entries) => {
      const box = entries[0]?.contentRect;
      if (box) setSize({ width: box.width, height: box.height });
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const gap = 8;
  // Tiles sized so that all of them fit the box (16:9), never overflowing the controls.
  const layout = size ? gridLayout(count, size.width, size.height, 16 / 9, gap) : null;
  const columns = layout ? layout.columns : Math.max(1, Math.ceil(Math.sqrt(count)));
  const track = layout && layout.tileWidth > 0 ? `${layout.tileWidth}px` : 'minmax(0, 1fr)';
  return (
    <div
      ref={inner}
      className={['arb-grid', className ?? ''].filter(Boolean).join(' ')}
      data-columns={columns}
      style={{ gridTemplateColumns: `repeat(${columns}, ${track})`, gap, ...style }}
      {...props}
    >
      {children}
    </div>
  );
});
