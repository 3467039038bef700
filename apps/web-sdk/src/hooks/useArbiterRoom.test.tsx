import { act, render, renderHook, waitFor } from '@testing-library/react';
import { StrictMode } from 'react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeServer, resetFakes } from '../test-utils/fakes.js';
import { useArbiterRoom } from './useArbiterRoom.js';
import { useConnectionState } from './useConnectionState.js';

let server: FakeServer;
beforeEach(() => {
  resetFakes();
  server = new FakeServer();
});

function Probe(props: { env: ReturnType<FakeServer['environment']>; onJoined?: () => void; onLeft?: () => void }) {
  const room = useArbiterRoom({
    url: 'http://arbiter.test/rooms/r',
    name: 'Ada',
    environment: props.env,
    onJoined: props.onJoined,
    onLeft: props.onLeft,
  });
  return <span data-testid="state">{room ? <State room={room} /> : 'none'}</span>;
}

function State({ room }: { room: NonNullable<ReturnType<typeof useArbiterRoom>> }) {
  return <>{useConnectionState(room)}</>;
}

describe('useArbiterRoom', () => {
  it('joins exactly once under React StrictMode (double effects)', async () => {
    const onJoined = vi.fn();
    const onLeft = vi.fn();
    const { findByText } = render(
      <StrictMode>
        <Probe env={server.environment()} onJoined={onJoined} onLeft={onLeft} />
      </StrictMode>,
    );
    await findByText('connected');
    expect(server.fetch).toHaveBeenCalledTimes(1);
    expect(server.sockets).toHaveLength(1);
    expect(onJoined).toHaveBeenCalledTimes(1);
    expect(onLeft).not.toHaveBeenCalled();
  });

  it('leaves on unmount: sends leave and closes the socket', async () => {
    const onLeft = vi.fn();
    const { findByText, unmount } = render(<Probe env={server.environment()} onLeft={onLeft} />);
    await findByText('connected');
    unmount();
    expect(server.socket.messages().at(-1)).toEqual({ action: 'leave' });
    expect(server.socket.closed).toBe(true);
    expect(onLeft).toHaveBeenCalledWith('left');
  });

  it('unmounting before the join starts makes no request at all', async () => {
    const { unmount } = render(<Probe env={server.environment()} />);
    unmount();
    await new Promise((r) => setTimeout(r, 20));
    expect(server.fetch).not.toHaveBeenCalled();
  });

  it('does not join while connect is false, and joins when it turns true', async () => {
    const env = server.environment();
    const { result, rerender } = renderHook(
      ({ connect }) => useArbiterRoom({ url: 'http://arbiter.test/rooms/r', connect, environment: env }),
      { initialProps: { connect: false } },
    );
    expect(result.current).toBeUndefined();
    rerender({ connect: true });
    await waitFor(() => expect(result.current?.connectionState).toBe('connected'));
    expect(server.fetch).toHaveBeenCalledTimes(1);
    await act(async () => {
      await result.current!.disconnect();
    });
  });
});
