import * as React from 'react';
import type { Room } from '../core/room.js';
import { useEnsureRoom } from '../context/room-context.js';
import { useLocalParticipant } from './useParticipants.js';

/** Options of {@link useTrackToggle}. @public */
export interface UseTrackToggleOptions {
  kind: 'audio' | 'video';
  room?: Room;
  onChange?: (enabled: boolean) => void;
}

/**
 * State and button props for a microphone or camera toggle.
 *
 * @example
 * ```tsx
 * const { buttonProps, enabled } = useTrackToggle({ kind: 'audio' });
 * return <button {...buttonProps}>{enabled ? 'Mute' : 'Unmute'}</button>;
 * ```
 * @public
 */
export function useTrackToggle({ kind, room, onChange }: UseTrackToggleOptions) {
  const r = useEnsureRoom(room);
  const local = useLocalParticipant(r);
  const enabled = kind === 'audio' ? (local?.audioEnabled ?? false) : (local?.videoEnabled ?? false);
  const [pending, setPending] = React.useState(false);
  const toggle = React.useCallback(async () => {
    setPending(true);
    try {
      const next = kind === 'audio' ? await r.setMicrophoneEnabled(!enabled) : await r.setCameraEnabled(!enabled);
      onChange?.(next);
    } finally {
      setPending(false);
    }
  }, [r, kind, enabled, onChange]);
  const buttonProps: React.ButtonHTMLAttributes<HTMLButtonElement> = {
    type: 'button',
    'aria-pressed': enabled,
    disabled: pending || !local,
    onClick: () => void toggle(),
  };
  return { buttonProps, enabled, pending, toggle };
}
