/**
 * This browser's own media in a room: the microphone and camera it sends (on, off,
 * another device), the screen it shares, the devices in use and why a device is
 * missing. The {@link Room} delegates to it; it sends through the room's producer
 * connection ({@link MediaLink}) and shows the result in the local participant's snapshot.
 * @packageDocumentation
 */
import type { DeviceKind } from './devices.js';
import { ArbiterError } from './errors.js';
import type { MediaLink } from './link.js';
import { acquireMedia, mediaProblemError, withoutDevice, type MediaProblem } from './media.js';
import { makeMessage, type Message } from './protocol/index.js';
import type { Roster } from './roster.js';
import type { ActiveDevices, Emit, RoomEnvironment } from './types.js';

/** What the local media needs from its room. */
export interface LocalMediaHooks {
  env: RoomEnvironment;
  roster: Roster;
  link: MediaLink;
  emit: Emit;
  /** Send a signaling message. */
  send(message: Message): void;
  /** Race `promise` with the room's end. */
  until<T>(promise: Promise<T>): Promise<T>;
  /** True once the room is closed. */
  closed(): boolean;
  /** False for a viewer's grant (no `publish`). */
  canPublish(): boolean;
}

/** Which state {@link LocalMedia.announce} tells. */
export type AnnouncedTrack = 'audio' | 'video' | 'screen';

/** The local tracks of a room (see the module comment). */
export class LocalMedia {
  /** The microphone sent (null: none). */
  audio: MediaStreamTrack | null = null;
  /** The camera sent (null: none). */
  video: MediaStreamTrack | null = null;
  /** The shared screen (null: none shared). */
  screen: MediaStreamTrack | null = null;
  private devicesValue: ActiveDevices;
  private problemsValue: readonly MediaProblem[] = [];

  constructor(
    private readonly hooks: LocalMediaHooks,
    devices: ActiveDevices | undefined,
  ) {
    this.devicesValue = { ...devices };
  }

  /** The camera, microphone and speaker in use (ids; absent: the browser's default). */
  get devices(): ActiveDevices {
    return this.devicesValue;
  }

  /** Why the camera or microphone is not available, if it is not. */
  get problems(): readonly MediaProblem[] {
    return this.problemsValue;
  }

  /** New media problems: kept, told (`mediaProblemsChanged`). */
  setProblems(problems: readonly MediaProblem[]): void {
    this.problemsValue = problems;
    this.hooks.emit('mediaProblemsChanged', problems);
  }

  /** Tell the others (through the SFU, which repeats it to late joiners) our mute state. */
  announce(kinds: readonly AnnouncedTrack[] = ['audio', 'video', 'screen']): void {
    const local = this.local();
    const producer = this.hooks.link.producer;
    if (!local || !producer || !producer.open) return;
    for (const kind of kinds) {
      if (kind === 'screen') {
        if (local.screenTrack) {
          producer.send(makeMessage('track_state', { kind: 'video', muted: !local.screenEnabled, track_id: 'screen' }));
        }
        continue;
      }
      const muted = kind === 'audio' ? !local.audioEnabled : !local.videoEnabled;
      producer.send(makeMessage('track_state', { kind, muted }));
    }
  }

  /**
   * Turn the microphone or camera on or off; turning it on asks for it if there is none
   * yet (e.g. permission was refused at join). Resolves to the new state; rejects with
   * `forbidden` when a moderator holds it muted or the grant does not allow publishing.
   */
  async setEnabled(kind: 'audio' | 'video', enabled: boolean): Promise<boolean> {
    const local = this.local();
    if (!local) return false;
    const lockedBy = kind === 'audio' ? local.audioLockedBy : local.videoLockedBy;
    if (enabled && lockedBy) throw new ArbiterError('forbidden', `a moderator holds your ${kind} muted`);
    if (enabled && !this.hooks.canPublish()) throw new ArbiterError('forbidden', 'your grant does not allow publishing');
    let track = kind === 'audio' ? this.audio : this.video;
    if (enabled && (!track || track.readyState === 'ended')) {
      const got = await acquireMedia(this.hooks.env.getUserMedia, { audio: kind === 'audio', video: kind === 'video' });
      this.gotProblems(kind, got.problems);
      track = got[kind];
      if (!track || this.hooks.closed()) {
        track?.stop();
        return false;
      }
      if (kind === 'audio') this.audio = track;
      else this.video = track;
      await this.hooks.link.producer?.replaceTrack(kind, track);
      this.hooks.roster.update(local.id, kind === 'audio' ? { audioTrack: track } : { videoTrack: track });
    }
    if (!track) return false;
    track.enabled = enabled;
    this.hooks.roster.update(local.id, kind === 'audio' ? { audioEnabled: enabled } : { videoEnabled: enabled });
    this.announce([kind]);
    return enabled;
  }

  /** See {@link Room.startScreenShare}. */
  async startScreenShare(): Promise<boolean> {
    const producer = this.hooks.link.producer;
    const local = this.local();
    if (!producer || !local || this.hooks.closed()) return false;
    if (this.screen) return true;
    let track: MediaStreamTrack | undefined;
    try {
      const stream = await this.hooks.env.getDisplayMedia({ video: { frameRate: 15 }, audio: false });
      track = stream.getVideoTracks()[0];
    } catch (exc) {
      const name = (exc as { name?: string } | null)?.name;
      if (name !== 'NotAllowedError' && name !== 'AbortError') {
        this.hooks.emit('error', new ArbiterError('media_error', `the screen could not be shared: ${String(exc)}`));
      }
      return false;
    }
    if (!track || this.hooks.closed() || this.screen) {
      track?.stop();
      return this.screen !== null;
    }
    if ('contentHint' in track) track.contentHint = 'detail';
    track.addEventListener('ended', () => void this.stopScreenShare());
    this.screen = track;
    this.hooks.roster.update(local.id, { screenTrack: track, screenEnabled: true });
    await producer.shareScreen(track, (m) => this.hooks.send(m), (p) => this.hooks.until(p));
    this.announce(['screen']);
    return true;
  }

  /** A new producer connection (a new SFU) carries the screen still being shared. */
  shareScreenAgain(): void {
    const producer = this.hooks.link.producer;
    const track = this.screen;
    if (!producer || !track || producer.sharesScreen) return;
    producer.shareScreen(track, (m) => this.hooks.send(m), (p) => this.hooks.until(p)).then(
      () => this.announce(['screen']),
      (exc: unknown) => {
        if (this.hooks.closed()) return;
        const error = exc instanceof ArbiterError ? exc : new ArbiterError('webrtc_error', String(exc));
        this.hooks.emit('error', error);
      },
    );
  }

  /** See {@link Room.stopScreenShare}. */
  async stopScreenShare(): Promise<void> {
    const track = this.screen;
    const local = this.local();
    if (!track) return;
    this.screen = null;
    track.stop();
    if (local) this.hooks.roster.update(local.id, { screenTrack: null });
    await this.hooks.link.producer?.shareScreen(null, (m) => this.hooks.send(m), (p) => this.hooks.until(p));
  }

  /** See {@link Room.switchDevice}. */
  async switchDevice(kind: DeviceKind, deviceId: string): Promise<boolean> {
    const local = this.local();
    if (kind === 'audiooutput') {
      this.useDevice(kind, deviceId);
      return true;
    }
    if (!local || this.hooks.closed()) return false;
    const media = kind === 'audioinput' ? 'audio' : 'video';
    const got = await acquireMedia(
      this.hooks.env.getUserMedia,
      { audio: media === 'audio', video: media === 'video' },
      { [kind]: deviceId },
    );
    const track = got[media];
    this.gotProblems(media, got.problems);
    if (!track || this.hooks.closed()) {
      track?.stop();
      return false;
    }
    const old = media === 'audio' ? this.audio : this.video;
    track.enabled = media === 'audio' ? local.audioEnabled : local.videoEnabled;
    await this.hooks.link.producer?.replaceTrack(media, track);
    if (media === 'audio') this.audio = track;
    else this.video = track;
    old?.stop();
    this.hooks.roster.update(local.id, media === 'audio' ? { audioTrack: track } : { videoTrack: track });
    this.useDevice(kind, deviceId);
    return true;
  }

  /** Stop every local track (the room is closing). */
  stop(): void {
    this.screen?.stop();
    this.screen = null;
    this.audio?.stop();
    this.video?.stop();
  }

  private local() {
    return this.hooks.roster.local;
  }

  private gotProblems(kind: 'audio' | 'video', problems: readonly MediaProblem[]): void {
    const device = kind === 'audio' ? 'microphone' : 'camera';
    this.setProblems([...withoutDevice(this.problemsValue, device), ...problems]);
    for (const problem of problems) this.hooks.emit('error', mediaProblemError(problem));
  }

  private useDevice(kind: DeviceKind, deviceId: string): void {
    this.devicesValue = { ...this.devicesValue, [kind]: deviceId };
    this.hooks.emit('devicesChanged', this.devicesValue);
  }
}
