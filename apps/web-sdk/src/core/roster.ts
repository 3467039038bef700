/**
 * The participants of a room as immutable snapshots: a change makes a new object and a
 * new list, and is announced (`participantsChanged`, `participantJoined` ...).
 * @packageDocumentation
 */
import type { ParticipantInfo, TrackInfo, TrackSource } from './protocol/index.js';
import type { Emit, Participant, RemoteTrackRef } from './types.js';

/** The camera and microphone of a remote participant (else its first video/audio track). */
function mainTracks(tracks: readonly RemoteTrackRef[]): Pick<Participant, 'audioTrack' | 'videoTrack'> {
  const pick = (kind: 'audio' | 'video', source: TrackSource) =>
    (tracks.find((t) => t.kind === kind && t.source === source) ?? tracks.find((t) => t.kind === kind))?.track ??
    null;
  return { audioTrack: pick('audio', 'microphone'), videoTrack: pick('video', 'camera') };
}

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
      tracks: [],
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

  /** A track of `info.participant_id` arrived (its camera/microphone become its video/audio). */
  addTrack(info: TrackInfo, track: MediaStreamTrack): void {
    const id = info.participant_id;
    if (!id) return;
    if (!this.map.has(id)) this.addRemote({ id, name: id });
    const old = this.map.get(id);
    if (!old || old.isLocal) return;
    const tracks = [...old.tracks.filter((t) => t.id !== info.id), { id: info.id, kind: info.kind, source: info.source, track }];
    const p = this.update(id, { tracks, ...mainTracks(tracks) });
    if (p) this.emit('trackSubscribed', { participant: p, track });
  }

  /** A track of `info.participant_id` is no longer received: take it off that participant. */
  dropTrack(info: TrackInfo, track: MediaStreamTrack): void {
    const id = info.participant_id;
    const p = id ? this.map.get(id) : undefined;
    if (!id || !p) return;
    const tracks = p.tracks.filter((t) => !(t.id === info.id && t.track === track));
    if (tracks.length === p.tracks.length) return;
    const next = this.update(id, { tracks, ...mainTracks(tracks) });
    if (next) this.emit('trackUnsubscribed', { participant: next, track });
  }

  private publish(): void {
    const all = [...this.map.values()];
    const local = all.filter((p) => p.isLocal);
    this.list = [...local, ...all.filter((p) => !p.isLocal)];
    this.emit('participantsChanged', this.list);
  }
}
