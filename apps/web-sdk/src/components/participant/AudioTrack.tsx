import * as React from 'react';

/** Props of {@link AudioTrack}. @public */
export interface AudioTrackProps extends Omit<React.AudioHTMLAttributes<HTMLAudioElement>, 'src'> {
  track: MediaStreamTrack | null;
}

/**
 * A hidden, autoplaying `<audio>` for one remote audio track.
 * @example
 * ```tsx
 * <AudioTrack track={participant.audioTrack} />
 * ```
 * @public
 */
export const AudioTrack = React.forwardRef<HTMLAudioElement, AudioTrackProps>(function AudioTrack(
  { track, ...props },
  ref,
) {
  const inner = React.useRef<HTMLAudioElement | null>(null);
  React.useImperativeHandle(ref, () => inner.current as HTMLAudioElement);
  React.useEffect(() => {
    const audio = inner.current;
    if (!audio || !track || typeof MediaStream === 'undefined') return undefined;
    audio.srcObject = new MediaStream([track]);
    audio.play?.()?.catch?.(() => undefined);
    return () => {
      audio.srcObject = null;
    };
  }, [track]);
  return <audio ref={inner} autoPlay data-track-id={track?.id} {...props} />;
});
