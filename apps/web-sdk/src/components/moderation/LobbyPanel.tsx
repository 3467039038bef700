import * as React from 'react';
import type { Room } from '../../core/room.js';
import { useModeration } from '../../hooks/useModeration.js';

/** Props of {@link LobbyPanel}. @public */
export interface LobbyPanelProps extends React.HTMLAttributes<HTMLElement> {
  room?: Room;
}

/**
 * Who waits in the lobby, each with `Admit` and `Deny` (moderators only; nothing while
 * nobody waits).
 *
 * @example
 * ```tsx
 * <LobbyPanel />
 * ```
 * @public
 */
export const LobbyPanel = React.forwardRef<HTMLElement, LobbyPanelProps>(function LobbyPanel(
  { room, className, ...props },
  ref,
) {
  const { isModerator, waiting, admit, deny } = useModeration(room);
  if (!isModerator || waiting.length === 0) return null;
  return (
    <section
      ref={ref}
      aria-label="Lobby"
      className={['arb-lobby', className ?? ''].filter(Boolean).join(' ')}
      {...props}
    >
      <h2 className="arb-lobby__title">Waiting to join</h2>
      <ul>
        {waiting.map((w) => (
          <li key={w.id} data-waiting-id={w.id}>
            <span>{w.name}</span>
            <button type="button" className="arb-button arb-button--primary" onClick={() => admit(w.id)}>
              Admit {w.name}
            </button>
            <button type="button" className="arb-button" onClick={() => deny(w.id)}>
              Deny {w.name}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
});
