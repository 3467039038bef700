import { describe, expect, it } from 'vitest';
import { FakeTrack, grantingGetUserMedia, refusingGetUserMedia } from '../test-utils/fakes.js';
import { acquireMedia, describeMediaError, withoutDevice } from './media.js';

describe('acquireMedia', () => {
  it('asks once for both when both are allowed', async () => {
    const gum = grantingGetUserMedia();
    const got = await acquireMedia(gum, { audio: true, video: true });
    expect(gum).toHaveBeenCalledTimes(1);
    expect((got.audio as unknown as FakeTrack).kind).toBe('audio');
    expect((got.video as unknown as FakeTrack).kind).toBe('video');
    expect(got.problems).toEqual([]);
  });

  it('falls back to each device alone, so a refused camera keeps the microphone', async () => {
    const got = await acquireMedia(refusingGetUserMedia('video'), { audio: true, video: true });
    expect(got.audio).not.toBeNull();
    expect(got.video).toBeNull();
    expect(got.problems).toEqual([expect.objectContaining({ code: 'permission_denied', devices: ['camera'] })]);
    expect(got.problems[0]!.message).toMatch(/^Camera permission was refused, so others cannot see you/);
  });

  it('reports one problem for both devices when both are refused', async () => {
    const got = await acquireMedia(refusingGetUserMedia('both'), { audio: true, video: true });
    expect(got.problems.map((p) => p.devices)).toEqual([['camera', 'microphone']]);
  });

  it('asks for nothing when nothing is wanted', async () => {
    const gum = grantingGetUserMedia();
    expect(await acquireMedia(gum, { audio: false, video: false })).toEqual({ audio: null, video: null, problems: [] });
    expect(gum).not.toHaveBeenCalled();
  });
});

describe('describeMediaError', () => {
  it.each([
    ['NotAllowedError', 'permission_denied'],
    ['NotFoundError', 'device_not_found'],
    ['NotReadableError', 'device_in_use'],
    ['TypeError', 'media_error'],
  ])('%s -> %s', (name, code) => {
    const err = Object.assign(new Error('x'), { name });
    expect(describeMediaError(err, ['microphone']).code).toBe(code);
  });
});

describe('withoutDevice', () => {
  it('keeps the other device of a combined problem, with a message about it alone', () => {
    const both = describeMediaError(Object.assign(new Error(), { name: 'NotAllowedError' }), ['camera', 'microphone']);
    const left = withoutDevice([both], 'microphone');
    expect(left).toEqual([expect.objectContaining({ devices: ['camera'] })]);
    expect(left[0]!.message).toMatch(/^Camera permission/);
    expect(withoutDevice(left, 'camera')).toEqual([]);
  });
});
