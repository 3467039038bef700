/**
 * Roles in the room as this browser sees them: what a moderator can do (remove, hold a
 * track muted, end the room, answer the lobby) and the lobby itself. Signaling refuses
 * anyone without the `moderator` grant (`forbidden`, reported as the room's `error`);
 * the effect arrives as it does for everyone (`participant_left`, `track_state`, `lobby`).
 * @packageDocumentation
 */
import { makeMessage, type Grant, type Lobby, type Message, type Removed, type TrackState } from './protocol/index.js';
import type { Roster } from './roster.js';
import type { Emit, RemovedInfo, WaitingParticipant } from './types.js';

/**
 * A `track_state` from the data channel: another participant's mute state of a track (its
 * microphone, camera or screen, and who holds it muted), or a moderator holding this browser's own track (`by`) or letting go (no
 * `by`): the held track is turned off at once; letting go leaves it off, to turn on.
 */
export function applyTrackState(
  roster: Roster,
  message: TrackState,
  localTrack: (kind: 'audio' | 'video') => MediaStreamTrack | null,
): void {
  const { sender, kind } = message;
  const by = message.by ?? null;
  if (!sender) return;
  const audio = kind === 'audio';
  if (sender !== roster.localId) {
    if (message.track_id === 'screen') roster.update(sender, { screenEnabled: !message.muted });
    else roster.update(sender, audio ? { audioEnabled: !message.muted, audioLockedBy: by } : { videoEnabled: !message.muted, videoLockedBy: by });
    return;
  }
  const track = localTrack(kind);
  if (by && track) track.enabled = false;
  const held = by ? (audio ? { audioEnabled: false } : { videoEnabled: false }) : {};
  roster.update(sender, { ...(audio ? { audioLockedBy: by } : { videoLockedBy: by }), ...held });
}

/** Whether a join response's grants allow publishing media (none given: the defaults do). */
export function mayPublish(grants: readonly Grant[] | null | undefined): boolean {
  return grants == null || grants.includes('publish');
}

/** The moderation part of a {@link Room}. */
export class Moderation {
  /** Who waits in the lobby (moderators are told). */
  waiting: readonly WaitingParticipant[] = [];
  /** This participant's grants (from the join response; empty: the default ones). */
  grants: readonly Grant[] = [];
  /** False for a viewer's grant (no `publish`): the room then receives only. */
  canPublish = true;
  /** Why this participant's session was ended, once it was. */
  removed: RemovedInfo | null = null;

  constructor(
    private readonly send: (message: Message) => void,
    private readonly emit: Emit,
  ) {}

  /** True if this participant may moderate. */
  get isModerator(): boolean {
    return this.grants.includes('moderator');
  }

  /** The lobby changed (`lobby`, to moderators). */
  onLobby(message: Lobby): void {
    this.waiting = message.waiting.map((p) => ({
      id: p.id,
      name: p.name,
      identity: p.identity ?? null,
      metadata: p.metadata ?? null,
    }));
    this.emit('lobbyChanged', this.waiting);
  }

  /** The server ended this participant's session: what the room shows. */
  onRemoved(message: Removed): RemovedInfo {
    this.removed = { reason: message.reason, by: message.by ?? null, message: message.message ?? null };
    return this.removed;
  }

  /** Remove a participant (its session ends; everyone is told who did it). */
  remove(participantId: string, reason?: string): void {
    this.act('remove', participantId, { reason: reason ?? null });
  }

  /** Hold a participant's audio or video muted (`muted = false` lifts it). */
  mute(participantId: string, kind: 'audio' | 'video', muted = true): void {
    this.act('mute', participantId, { kind, muted });
  }

  /** End the room for everyone. */
  endRoom(reason?: string): void {
    this.send(makeMessage('moderate', { op: 'end_room', muted: true, reason: reason ?? null }));
  }

  /** Let in someone waiting in the lobby. */
  admit(participantId: string): void {
    this.act('admit', participantId, {});
  }

  /** Refuse someone waiting in the lobby. */
  deny(participantId: string, reason?: string): void {
    this.act('deny', participantId, { reason: reason ?? null });
  }

  private act(
    op: 'remove' | 'mute' | 'admit' | 'deny',
    participantId: string,
    extra: { kind?: 'audio' | 'video'; muted?: boolean; reason?: string | null },
  ): void {
    this.send(makeMessage('moderate', { op, participant_id: participantId, muted: true, ...extra }));
  }
}
