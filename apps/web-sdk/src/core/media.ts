import { ArbiterError } from './errors.js';

/** Which devices a media problem is about. @public */
export type MediaDevice = 'camera' | 'microphone';

/**
 * Why a camera or microphone could not be used, with a message to show the user.
 * @public
 */
export interface MediaProblem {
  devices: MediaDevice[];
  code: 'permission_denied' | 'device_not_found' | 'device_in_use' | 'media_error';
  message: string;
}

/** What {@link acquireMedia} got. @public */
export interface AcquiredMedia {
  audio: MediaStreamTrack | null;
  video: MediaStreamTrack | null;
  problems: MediaProblem[];
}

/** The `getUserMedia` the SDK calls (injectable for tests). @public */
export type GetUserMedia = (constraints: MediaStreamConstraints) => Promise<MediaStream>;

function deviceList(devices: MediaDevice[]): string {
  if (devices.length === 2) return 'camera and microphone';
  return devices[0] ?? 'camera';
}

/**
 * Turn a `getUserMedia` failure into a {@link MediaProblem} with a clear message.
 * @public
 */
export function describeMediaError(error: unknown, devices: MediaDevice[]): MediaProblem {
  const name = (error as { name?: string } | null)?.name ?? '';
  const what = deviceList(devices);
  const What = what.charAt(0).toUpperCase() + what.slice(1);
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return {
        devices,
        code: 'permission_denied',
        message:
          `${What} permission was refused, so others cannot ${devices.includes('camera') ? 'see' : 'hear'} you. ` +
          `Allow access to the ${what} in your browser's site settings, then turn it on again.`,
      };
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return { devices, code: 'device_not_found', message: `No ${what} was found.` };
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return {
        devices,
        code: 'device_in_use',
        message: `The ${what} could not be started; another application may be using it.`,
      };
    default:
      return {
        devices,
        code: 'media_error',
        message: `The ${what} could not be used: ${(error as Error | null)?.message ?? String(error)}`,
      };
  }
}

/** A {@link MediaProblem} as an {@link ArbiterError}. @public */
export function mediaProblemError(problem: MediaProblem): ArbiterError {
  return new ArbiterError(problem.code, problem.message);
}

/**
 * Ask for the microphone and/or camera. If asking for both fails, asks for each alone, so
 * refusing the camera still lets the microphone work (and the other way round).
 * Never throws: what failed is in `problems`.
 * @public
 */
export async function acquireMedia(
  getUserMedia: GetUserMedia,
  want: { audio: boolean; video: boolean },
): Promise<AcquiredMedia> {
  const out: AcquiredMedia = { audio: null, video: null, problems: [] };
  if (!want.audio && !want.video) return out;
  // 720p where the camera has it: the producer sends it in three simulcast layers
  const videoConstraints: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 } };
  try {
    const stream = await getUserMedia({
      audio: want.audio,
      video: want.video ? videoConstraints : false,
    });
    out.audio = stream.getAudioTracks()[0] ?? null;
    out.video = stream.getVideoTracks()[0] ?? null;
    return out;
  } catch (error) {
    if (!(want.audio && want.video)) {
      out.problems.push(describeMediaError(error, want.audio ? ['microphone'] : ['camera']));
      return out;
    }
  }
  const one = async (kind: 'audio' | 'video'): Promise<void> => {
    const device: MediaDevice = kind === 'audio' ? 'microphone' : 'camera';
    try {
      const stream = await getUserMedia(
        kind === 'audio' ? { audio: true, video: false } : { audio: false, video: videoConstraints },
      );
      out[kind] = (kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks())[0] ?? null;
    } catch (error) {
      out.problems.push(describeMediaError(error, [device]));
    }
  };
  await one('audio');
  await one('video');
  if (out.problems.length === 2 && out.problems[0]!.code === out.problems[1]!.code) {
    out.problems = [problemFor(out.problems[0]!.code, ['camera', 'microphone'])];
  }
  return out;
}

/**
 * The problems left once `device` works again (a combined problem keeps the other device).
 * @public
 */
export function withoutDevice(problems: readonly MediaProblem[], device: MediaDevice): MediaProblem[] {
  return problems.flatMap((p) => {
    if (!p.devices.includes(device)) return [p];
    const rest = p.devices.filter((d) => d !== device);
    return rest.length ? [problemFor(p.code, rest)] : [];
  });
}

function problemFor(code: MediaProblem['code'], devices: MediaDevice[]): MediaProblem {
  return describeMediaError(errorNamed(code), devices);
}

function errorNamed(code: MediaProblem['code']): { name: string; message: string } {
  const names: Record<MediaProblem['code'], string> = {
    permission_denied: 'NotAllowedError',
    device_not_found: 'NotFoundError',
    device_in_use: 'NotReadableError',
    media_error: 'Error',
  };
  return { name: names[code], message: 'failed' };
}
