/**
 * Audio levels from WebRTC stats, for the speaking indicator.
 * @packageDocumentation
 */

/** One connection to read: whose level it gives and which stats type carries it. */
export interface LevelSource {
  id: string;
  /** A connection, or one receiver of it. */
  pc: { getStats(): Promise<RTCStatsReport> };
  /** `media-source` (what we send) or `inbound-rtp` (what we receive). */
  type: 'media-source' | 'inbound-rtp';
}

/** The loudest audio level (0..1) each source's stats report now; closed ones are skipped. */
export async function audioLevels(sources: readonly LevelSource[]): Promise<Map<string, number>> {
  const levels = new Map<string, number>();
  await Promise.all(
    sources.map(async ({ id, pc, type }) => {
      try {
        const stats = await pc.getStats();
        stats.forEach((s: { type?: string; kind?: string; audioLevel?: number }) => {
          if (s.type === type && s.kind === 'audio' && typeof s.audioLevel === 'number') {
            levels.set(id, Math.max(levels.get(id) ?? 0, s.audioLevel));
          }
        });
      } catch {
        // closed meanwhile
      }
    }),
  );
  return levels;
}
