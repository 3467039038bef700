/**
 * The participants of a room as immutable snapshots: a change makes a new object and a
 * new list, and is announced (`participantsChanged`, `participantJoined` ...).
 * @packageDocumentation
 */
import type { ParticipantInfo } from './protocol/index.js';
import type { Emit, Participant } from './types.js';

/** Everyone in the room, the local participant first. */
export class Roster {
  private readonly map = new Map<string, Participant>();
  private list: readonly Participant[] = [];
  /** The local participant's id, once joined. */
  localId: string | null = null;

  constructor(private readonly emit: Emit) {}

  /** The current snapshot list (local first). */
  get participants(): readonly Participant[] {
    return this.list;
  }

  /** The local participant, once joined. */
  get local(): Participant | undefined {
    return this.localId ? this.map.get(this.localId) : undefined;
  }

  /** A participant by id. */
  get(id: string): Participant | undefined {
    return this.map.get(id);
  }

  /** Add or replace a participant. */
  put(p: Participant): void {
    this.map.set(p.id, p);
    this.publish();
  }

  /** Apply `patch` to a participant (a new snapshot, only if something changed). */
  update(id: string, patch: Partial<Participant>): Participant | undefined {
    const old = this.map.get(id);
    if (!old) return undefined;
    const changed = (Object.keys(patch) as (keyof Participant)[]).some((k) => old[k] !== patch[k]);
    if (!changed) return old;
    const next = { ...old, ...patch };
    this.put(next);
    return next;
  }

  /** A remote participant is present (renames a known one). */
  addRemote(info: ParticipantInfo): Participant {
    const existing = this.map.get(info.id);
    if (existing) {
      return this.update(info.id, { name: info.name }) ?? existing;
    }
    const p: Participant = {
      id: info.id,
      name: info.name,
      isLocal: false,
      audioTrack: null,
      videoTrack: null,
      audioEnabled: true,
      videoEnabled: true,
      isSpeaking: false,
    };
    this.put(p);
    this.emit('participantJoined', p);
    return p;
  }

  /** A remote participant left. */
  removeRemote(id: string, reason: string): void {
    const p = this.map.get(id);
    if (!p || p.isLocal) return;
    this.map.delete(id);
    this.publish();
    this.emit('participantLeft', p, reason);
  }

  /** A track of `producerId` arrived: it becomes that participant's audio or video. */
  addTrack(producerId: string, track: MediaStreamTrack): void {
    const p = this.update(producerId, track.kind === 'audio' ? { audioTrack: track } : { videoTrack: track });
    if (p) this.emit('trackSubscribed', { participant: p, track });
  }

  /** A track of `producerId` ended: take it off that participant, if it is still on. */
  dropTrack(producerId: string, track: MediaStreamTrack): void {
    const p = this.map.get(producerId);
    if (!p) return;
    if (p.audioTrack === track || p.videoTrack === track) {
      const next = this.update(producerId, p.audioTrack === track ? { audioTrack: null } : { videoTrack: null });
      if (next) this.emit('trackUnsubscribed', { participant: next, track });
    }
  }

  private publish(): void {
    const all = [...this.map.values()];
    const local = all.filter((p) => p.isLocal);
    this.list = [...local, ...all.filter((p) => !p.isLocal)];
    this.emit('participantsChanged', this.list);
  }
}
