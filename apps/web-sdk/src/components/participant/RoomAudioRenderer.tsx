import * as React from 'react';
import { setAudioOutput } from '../../core/devices.js';
import type { Room } from '../../core/room.js';
import { useMaybeRoom } from '../../context/room-context.js';
import { useParticipants } from '../../hooks/useParticipants.js';
import { AudioTrack } from './AudioTrack.js';

/**
 * Plays every remote participant's audio (hidden `<audio>` elements) on the room's
 * speaker (`room.switchDevice('audiooutput', id)`: `setSinkId`, where the browser has it).
 * @example
 * ```tsx
 * <RoomAudioRenderer />
 * ```
 * @public
 */
export function RoomAudioRenderer({ room }: { room?: Room }) {
  const context = useMaybeRoom();
  const r = room ?? context;
  const participants = useParticipants(room);
  const box = React.useRef<HTMLDivElement | null>(null);
  const [sink, setSink] = React.useState<string | undefined>(() => r?.activeDevices.audiooutput);
  React.useEffect(() => {
    if (!r) return undefined;
    setSink(r.activeDevices.audiooutput);
    return r.on('devicesChanged', (d) => setSink(d.audiooutput));
  }, [r]);
  const playing = participants.filter((p) => !p.isLocal && p.audioTrack);
  const key = playing.map((p) => p.audioTrack!.id).join(',');
  React.useEffect(() => {
    if (sink === undefined) return;
    for (const audio of box.current?.querySelectorAll('audio') ?? []) {
      setAudioOutput(audio, sink).catch((exc: unknown) => console.warn('arbiter: cannot choose the speaker', exc));
    }
  }, [sink, key]);
  return (
    <div ref={box} style={{ display: 'none' }}>
      {playing.map((p) => (
        <AudioTrack key={`${p.id}-${p.audioTrack!.id}`} track={p.audioTrack} data-participant-id={p.id} />
      ))}
    </div>
  );
}
