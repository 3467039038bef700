/**
 * Cameras, microphones and speakers: listing them and asking for one by id.
 * @packageDocumentation
 */

/** A kind of media device, as `MediaDeviceInfo.kind` says. @public */
export type DeviceKind = 'audioinput' | 'videoinput' | 'audiooutput';

/**
 * The devices of `kind` this page may use (all kinds when absent), from
 * `navigator.mediaDevices.enumerateDevices()`; labels are empty until the page was
 * allowed a camera or microphone. Empty where the browser has no media devices API.
 * @public
 */
export async function listDevices(kind?: DeviceKind): Promise<MediaDeviceInfo[]> {
  const devices = (globalThis as { navigator?: Navigator }).navigator?.mediaDevices;
  if (!devices?.enumerateDevices) return [];
  const all = await devices.enumerateDevices();
  return all.filter((d) => (kind ? d.kind === kind : true) && d.deviceId !== '');
}

/** `getUserMedia` constraints for one device (`base` kept), or `base` without an id. @public */
export function deviceConstraints(
  deviceId: string | undefined,
  base: MediaTrackConstraints = {},
): MediaTrackConstraints | true {
  if (deviceId) return { ...base, deviceId: { exact: deviceId } };
  return Object.keys(base).length ? base : true;
}

/**
 * Play `element` on the speaker `deviceId` (`HTMLMediaElement.setSinkId`, where the browser
 * has it; absent: the default). Resolves false when the browser cannot choose.
 * @public
 */
export async function setAudioOutput(element: HTMLMediaElement, deviceId: string | undefined): Promise<boolean> {
  const sink = element as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
  if (typeof sink.setSinkId !== 'function') return false;
  await sink.setSinkId(deviceId ?? '');
  return true;
}
