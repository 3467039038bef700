/**
 * The demo page `arbiter-server dev` serves at every room URL (`GET /rooms/<id>` with
 * `Accept: text/html`): the room URL is the page's own URL. `?url=...` overrides it (for
 * `npm run dev`, which serves the page elsewhere); `?token=...` joins with a grant minted
 * by the app's backend (a private room; `arbiter-server dev` prints a moderator link);
 * `?ice=relay` sends all media through the TURN server (`iceTransportPolicy: 'relay'`).
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ArbiterRoom } from '../src/index.js';
import '../src/styles.css';

function roomUrlFromLocation(location: Location): string {
  const override = new URLSearchParams(location.search).get('url');
  if (override) return override;
  return `${location.origin}${location.pathname.replace(/\/+$/, '')}`;
}

const url = roomUrlFromLocation(window.location);
const params = new URLSearchParams(window.location.search);
const token = params.get('token') ?? undefined;
const iceTransportPolicy = params.get('ice') === 'relay' ? 'relay' : undefined;
const roomId = url.split('/').filter(Boolean).pop() ?? 'room';
document.title = `${decodeURIComponent(roomId)} · Arbiter`;

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ArbiterRoom
      url={url}
      token={token}
      iceTransportPolicy={iceTransportPolicy}
      onJoined={(info) => console.info('arbiter: joined', info)}
      onLeft={(reason) => console.info('arbiter: left', reason)}
      onError={(error) => console.warn('arbiter:', error.code, error.message)}
    />
  </StrictMode>,
);
