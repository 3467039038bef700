/**
 * The participants of a room as immutable snapshots: a change makes a new object and a
 * new list, and is announced (`participantsChanged`, `participantJoined` ...).
 * @packageDocumentation
 */
import type { ParticipantInfo, TrackInfo, TrackSource } from './protocol/index.js';
import type { Emit, Participant, RemoteTrackRef } from './types.js';

/**
 * The camera and microphone of a remote participant (else its first video/audio track that
 * is not a screen), and its screen.
 */
function mainTracks(
  tracks: readonly RemoteTrackRef[],
): Pick<Participant, 'audioTrack' | 'videoTrack' | 'screenTrack'> {
  const own = tracks.filter((t) => t.source !== 'screen');
  const pick = (kind: 'audio' | 'video', source: TrackSource) =>
    (own.find((t) => t.kind === kind && t.source === source) ?? own.find((t) => t.kind === kind))?.track ?? null;
  return {
    audioTrack: pick('audio', 'microphone'),
    videoTrack: pick('video', 'camera'),
    screenTrack: tracks.find((t) => t.source === 'screen' && t.kind === 'video')?.track ?? null,
  };
}

/** Everyone in the room, the local participant first. */
export class Roster {
  private readonly map = new Map<string, Participant>();
  private list: readonly Participant[] = [];
  /** The local participant's id, once joined. */
  localId: string | null = null;
  private speakerIds: readonly string[] = [];

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

  /** Who speaks now, loudest first (participant ids, as the SFU last said). */
  get speakers(): readonly string[] {
    return this.speakerIds;
  }

  /** A remote participant is present (a known one takes its name and hand from `info`). */
  addRemote(info: ParticipantInfo): Participant {
    const existing = this.map.get(info.id);
    if (existing) {
      return this.updateInfo(info) ?? existing;
    }
    const p: Participant = {
      id: info.id,
      name: info.name,
      isLocal: false,
      audioTrack: null,
      videoTrack: null,
      screenTrack: null,
      tracks: [],
      audioEnabled: true,
      videoEnabled: true,
      screenEnabled: true,
      isSpeaking: this.speakerIds.includes(info.id),
      handRaised: info.hand_raised === true,
    };
    this.put(p);
    this.emit('participantJoined', p);
    return p;
  }

  /**
   * A participant's name, hand or app data (`metadata`) changed (`participant_updated`;
   * the local one too).
   */
  updateInfo(info: ParticipantInfo): Participant | undefined {
    const old = this.map.get(info.id);
    const patch: Partial<Participant> = { name: info.name, handRaised: info.hand_raised === true };
    if ((info.metadata ?? null) !== (old?.metadata ?? null)) patch.metadata = info.metadata ?? null;
    const next = this.update(info.id, patch);
    if (next && next !== old) this.emit('participantUpdated', next);
    return next;
  }

  /** The SFU says who speaks now (`active_speakers`), loudest first. */
  setSpeakers(ids: readonly string[]): void {
    if (ids.length === this.speakerIds.length && ids.every((id, i) => this.speakerIds[i] === id)) return;
    this.speakerIds = [...ids];
    let changed = false;
    for (const p of [...this.map.values()]) {
      const isSpeaking = ids.includes(p.id);
      if (p.isSpeaking !== isSpeaking) {
        this.map.set(p.id, { ...p, isSpeaking });
        changed = true;
      }
    }
    if (changed) this.publish();
    this.emit('activeSpeakersChanged', this.speakerIds);
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
