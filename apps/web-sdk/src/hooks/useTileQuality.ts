import * as React from 'react';
import type { Participant } from '../core/types.js';
import type { Quality } from '../core/protocol/index.js';
import { useMaybeRoom } from '../context/room-context.js';

/**
 * The simulcast quality a tile of `width` CSS pixels needs on a screen with
 * `pixelRatio`: the lowest layer at least that wide (a 1280 px camera sends 320, 640 and
 * 1280 px layers).
 * @public
 */
export function qualityForWidth(width: number, pixelRatio = 1): Quality {
  const pixels = width * pixelRatio;
  if (pixels <= 320) return 'low';
  if (pixels <= 640) return 'medium';
  return 'high';
}

/**
 * Ask the SFU for the video quality a remote participant's tile needs, from the tile's
 * size (and again when it changes): a small tile receives a small simulcast layer.
 * Nothing happens for the local participant, outside a room or without `ResizeObserver`.
 *
 * @example
 * ```tsx
 * const ref = React.useRef<HTMLDivElement>(null);
 * useTileQuality(participant, ref);
 * return <div ref={ref}>...</div>;
 * ```
 * @public
 */
export function useTileQuality(participant: Participant, element: React.RefObject<HTMLElement | null>): void {
  const room = useMaybeRoom();
  const id = participant.isLocal ? null : participant.id;
  React.useEffect(() => {
    const target = element.current;
    if (!room || !id || !target || typeof ResizeObserver === 'undefined') return undefined;
    const ratio = (globalThis as { devicePixelRatio?: number }).devicePixelRatio ?? 1;
    const observer = new ResizeObserver((entries) => {
      const width = entries[entries.length - 1]?.contentRect.width ?? 0;
      if (width <= 0 || room.connectionState !== 'connected') return;
      try {
        room.setSubscription(id, { quality: qualityForWidth(width, ratio) });
      } catch {
        // the data channel is down: the next resize (or reconnection) asks again
      }
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [room, id, element]);
}
