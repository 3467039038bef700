import * as React from 'react';
import type { ActiveDevices } from '../core/room.js';
import { MediaDeviceSelect } from './controls/MediaDeviceSelect.js';

/** Props of {@link PreJoin}. @public */
export interface PreJoinProps extends Omit<React.FormHTMLAttributes<HTMLFormElement>, 'onSubmit' | 'title'> {
  /** The name the input starts with. */
  defaultName?: string;
  /** Called with the chosen name and devices when the user presses Join. */
  onJoin: (name: string, devices: ActiveDevices) => void;
  /** Show the camera, microphone and speaker choices. Default true. */
  devices?: boolean;
  /** What to show above the form (e.g. the room name). */
  title?: React.ReactNode;
}

/**
 * The pre-join screen: a name, the camera, microphone and speaker to use (labelled
 * selects), and a `Join` button.
 * @example
 * ```tsx
 * <PreJoin onJoin={(name) => setName(name)} />
 * ```
 * @public
 */
export const PreJoin = React.forwardRef<HTMLFormElement, PreJoinProps>(function PreJoin(
  { defaultName = '', onJoin, title, devices = true, className, ...props },
  ref,
) {
  const [name, setName] = React.useState(defaultName);
  const [chosen, setChosen] = React.useState<ActiveDevices>({});
  const id = React.useId();
  const trimmed = name.trim();
  return (
    <form
      ref={ref}
      className={['arb-prejoin', className ?? ''].filter(Boolean).join(' ')}
      onSubmit={(event) => {
        event.preventDefault();
        if (trimmed) onJoin(trimmed, chosen);
      }}
      {...props}
    >
      {title && <h1 className="arb-prejoin__title">{title}</h1>}
      <label htmlFor={id}>Name</label>
      <input
        id={id}
        name="name"
        autoComplete="name"
        required
        maxLength={64}
        value={name}
        onChange={(e) => setName(e.target.value)}
      />
      {devices &&
        (['videoinput', 'audioinput', 'audiooutput'] as const).map((kind) => (
          <MediaDeviceSelect
            key={kind}
            kind={kind}
            onChange={(deviceId) => setChosen((c) => ({ ...c, [kind]: deviceId }))}
          />
        ))}
      <button type="submit" className="arb-button arb-button--primary" disabled={!trimmed}>
        Join
      </button>
    </form>
  );
});
