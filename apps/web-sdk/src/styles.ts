/**
 * The built-in stylesheet (`arb-` classes), rendered by `<ArbiterRoom>` unless `unstyled`.
 * @public
 */
export const arbiterStyles = `
.arb-room { --arb-bg: #111418; --arb-panel: #1b2027; --arb-fg: #eef1f4; --arb-muted: #9aa4b1;
  --arb-accent: #3b82f6; --arb-danger: #e5484d; --arb-speaking: #22c55e;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--arb-fg);
  background: var(--arb-bg); width: 100%; height: 100%; min-height: 360px; box-sizing: border-box; }
.arb-room *, .arb-room *::before, .arb-room *::after { box-sizing: inherit; }
.arb-button { font: inherit; color: var(--arb-fg); background: var(--arb-panel); border: 1px solid #2f3742;
  border-radius: 8px; padding: 8px 14px; cursor: pointer; }
.arb-button:hover:not(:disabled) { background: #252c35; }
.arb-button:disabled { opacity: .5; cursor: default; }
.arb-button:focus-visible, .arb-room input:focus-visible { outline: 2px solid var(--arb-accent); outline-offset: 2px; }
.arb-button--off { background: #3a1d20; border-color: #6b2a2f; }
.arb-button--primary { background: var(--arb-accent); border-color: var(--arb-accent); }
.arb-button--leave { background: var(--arb-danger); border-color: var(--arb-danger); }
.arb-room input { font: inherit; color: var(--arb-fg); background: #0c0f12; border: 1px solid #2f3742;
  border-radius: 8px; padding: 8px 10px; min-width: 0; }
.arb-prejoin { max-width: 360px; margin: 10vh auto; display: flex; flex-direction: column; gap: 10px; padding: 24px;
  background: var(--arb-panel); border-radius: 12px; }
.arb-prejoin__title { font-size: 1.3rem; margin: 0 0 6px; }
.arb-status, .arb-ended { padding: 16px; text-align: center; }
.arb-moderate { position: absolute; top: 6px; right: 6px; display: flex; gap: 4px; flex-wrap: wrap; justify-content: flex-end; }
.arb-moderate .arb-button { font-size: 12px; padding: 2px 6px; }
.arb-lobby { padding: 8px 12px; border: 1px solid #2f3742; border-radius: 8px; margin: 8px 0; }
.arb-lobby ul { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; }
.arb-lobby li { display: flex; align-items: center; gap: 8px; }
.arb-lobby__title { font-size: 14px; margin: 0 0 6px; }
.arb-ended { display: flex; flex-direction: column; align-items: center; gap: 12px; margin-top: 10vh; }
.arb-conference { display: flex; height: 100%; min-height: inherit; }
.arb-conference__main { flex: 1; display: flex; flex-direction: column; min-width: 0; padding: 8px; gap: 8px; }
.arb-conference__chat { width: 280px; border-left: 1px solid #2a313b; }
@media (max-width: 720px) {
  .arb-conference { flex-direction: column; }
  .arb-conference__chat { width: auto; height: 40%; border-left: 0; border-top: 1px solid #2a313b; }
}
.arb-grid { flex: 1; display: grid; gap: 8px; align-content: center; justify-content: center; min-height: 0; overflow: auto; }
.arb-tile { position: relative; aspect-ratio: 16 / 9; background: #000; border-radius: 10px; overflow: hidden;
  outline: 3px solid transparent; transition: outline-color .15s; min-width: 0; }
.arb-tile--speaking { outline-color: var(--arb-speaking); }
.arb-tile__video { width: 100%; height: 100%; object-fit: cover; display: block; }
.arb-tile__video[hidden] { display: none; }
.arb-tile__placeholder { position: absolute; inset: 0; display: grid; place-items: center; font-size: 2rem;
  font-weight: 600; color: var(--arb-muted); background: #1f252d; }
.arb-tile__bar { position: absolute; left: 6px; bottom: 6px; display: flex; gap: 6px; align-items: center;
  background: rgba(0,0,0,.6); padding: 3px 8px; border-radius: 6px; font-size: .85rem; max-width: calc(100% - 12px); }
.arb-tile__name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.arb-tile__muted { color: var(--arb-danger); display: inline-flex; }
.arb-controls { display: flex; gap: 8px; justify-content: center; flex-wrap: wrap; }
.arb-banner { background: #3a2a12; border: 1px solid #8a6116; color: #ffe2a8; border-radius: 8px; padding: 4px 12px; }
.arb-banner p { margin: 6px 0; }
.arb-chat { display: flex; flex-direction: column; min-height: 0; background: var(--arb-panel); }
.arb-chat__log { flex: 1; overflow-y: auto; list-style: none; margin: 0; padding: 10px; display: flex;
  flex-direction: column; gap: 6px; }
.arb-chat__message { display: flex; flex-direction: column; }
.arb-chat__sender { font-size: .75rem; color: var(--arb-muted); }
.arb-chat__text { overflow-wrap: anywhere; }
.arb-chat__form { display: flex; gap: 6px; padding: 8px; }
.arb-chat__form input { flex: 1; }
.arb-chat__error { color: var(--arb-danger); margin: 0 8px 8px; }
.arb-visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`;
