// Renders one of the web SDK README's snippets (src/snippets/, written by the test):
// ?snippet=App (default) or ?snippet=Call, for the room ?url=...
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import * as snippets from './snippets/index.js';
import './snippets/overrides.css';

const params = new URLSearchParams(window.location.search);
const url = params.get('url') ?? '';
const name = params.get('snippet') ?? 'App';
const Snippet = (snippets as Record<string, (props: { url: string }) => React.JSX.Element>)[name];

createRoot(document.getElementById('root')!).render(
  <StrictMode>{Snippet ? <Snippet url={url} /> : <p>no snippet {name}</p>}</StrictMode>,
);
