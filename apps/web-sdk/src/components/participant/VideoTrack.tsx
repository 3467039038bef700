import * as React from 'react';

/** Props of {@link VideoTrack}. @public */
export interface VideoTrackProps extends Omit<React.VideoHTMLAttributes<HTMLVideoElement>, 'src'> {
  /** The video track to play (null shows nothing). */
  track: MediaStreamTrack | null;
  /** Flip horizontally (the local camera, like a mirror). */
  mirror?: boolean;
}

/**
 * A muted, autoplaying `<video>` for one track (audio plays through {@link AudioTrack}).
 *
 * @example
 * ```tsx
 * <VideoTrack track={participant.videoTrack} />
 * ```
 * @public
 */
export const VideoTrack = React.forwardRef<HTMLVideoElement, VideoTrackProps>(function VideoTrack(
  { track, mirror, style, ...props },
  ref,
) {
  const inner = React.useRef<HTMLVideoElement | null>(null);
  React.useImperativeHandle(ref, () => inner.current as HTMLVideoElement);
  React.useEffect(() => {
    const video = inner.current;
    if (!video) return undefined;
    if (!track || typeof MediaStream === 'undefined') {
      video.srcObject = null;
      return undefined;
    }
    video.srcObject = new MediaStream([track]);
    video.play?.()?.catch?.(() => undefined);
    return () => {
      video.srcObject = null;
    };
  }, [track]);
  return (
    <video
      ref={inner}
      autoPlay
      playsInline
      muted
      data-track-id={track?.id}
      style={mirror ? { transform: 'scaleX(-1)', ...style } : style}
      {...props}
    />
  );
});
