import type { Room } from '../core/room.js';
import { useMediaProblems } from '../hooks/useMediaProblems.js';

/**
 * Tells the user, as an alert, why the camera or microphone is unavailable.
 * @example
 * ```tsx
 * <MediaProblemBanner />
 * ```
 * @public
 */
export function MediaProblemBanner({ room }: { room?: Room }) {
  const problems = useMediaProblems(room);
  if (problems.length === 0) return null;
  return (
    <div role="alert" className="arb-banner">
      {problems.map((p) => (
        <p key={`${p.code}:${p.devices.join(',')}`}>{p.message}</p>
      ))}
    </div>
  );
}
