import * as React from 'react';
import type { Room } from '../core/room.js';
import { useEnsureRoom } from '../context/room-context.js';
import { useLocalParticipant } from './useParticipants.js';

/** Options of {@link useTrackToggle}. @public */
export interface UseTrackToggleOptions {
  /** The microphone (`audio`), the camera (`video`) or screen sharing (`screen`). */
  kind: 'audio' | 'video' | 'screen';
  room?: Room;
  onChange?: (enabled: boolean) => void;
}

/**
 * State and button props for a microphone, camera or screen-share toggle.
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
  const enabled =
    kind === 'audio'
      ? (local?.audioEnabled ?? false)
      : kind === 'video'
        ? (local?.videoEnabled ?? false)
        : local?.screenTrack != null;
  const [pending, setPending] = React.useState(false);
  const toggle = React.useCallback(async () => {
    setPending(true);
    try {
      const next =
        kind === 'audio'
          ? await r.setMicrophoneEnabled(!enabled)
          : kind === 'video'
            ? await r.setCameraEnabled(!enabled)
            : await r.setScreenShareEnabled(!enabled);
      onChange?.(next);
    } finally {
      setPending(false);
    }
  }, [r, kind, enabled, onChange]);
  const buttonProps: React.ButtonHTMLAttributes<HTMLButtonElement> = {
    type: 'button',
    'aria-pressed': enabled,
    // nothing to turn on: a viewer's grant, or a track a moderator holds muted
    disabled: pending || !local || !r.moderation.canPublish || !!(kind === 'audio' ? local.audioLockedBy : local.videoLockedBy),
    onClick: () => void toggle(),
  };
  return { buttonProps, enabled, pending, toggle };
}
