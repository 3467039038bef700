import * as React from 'react';

/** Props of {@link PreJoin}. @public */
export interface PreJoinProps extends Omit<React.FormHTMLAttributes<HTMLFormElement>, 'onSubmit' | 'title'> {
  /** The name the input starts with. */
  defaultName?: string;
  /** Called with the chosen name when the user presses Join. */
  onJoin: (name: string) => void;
  /** What to show above the form (e.g. the room name). */
  title?: React.ReactNode;
}

/**
 * The pre-join screen: a name input and a `Join` button.
 * @example
 * ```tsx
 * <PreJoin onJoin={(name) => setName(name)} />
 * ```
 * @public
 */
export const PreJoin = React.forwardRef<HTMLFormElement, PreJoinProps>(function PreJoin(
  { defaultName = '', onJoin, title, className, ...props },
  ref,
) {
  const [name, setName] = React.useState(defaultName);
  const id = React.useId();
  const trimmed = name.trim();
  return (
    <form
      ref={ref}
      className={['arb-prejoin', className ?? ''].filter(Boolean).join(' ')}
      onSubmit={(event) => {
        event.preventDefault();
        if (trimmed) onJoin(trimmed);
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
      <button type="submit" className="arb-button arb-button--primary" disabled={!trimmed}>
        Join
      </button>
    </form>
  );
});
