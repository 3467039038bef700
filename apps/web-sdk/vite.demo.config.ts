import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The demo page that `arbiter-server dev` serves at every room URL, written into the Python
// package as arbiter_server/web (package data: the wheel carries it): index.html, scripts in
// assets/, referenced as /assets/... (the gateway serves /assets/* from there, and the page
// lives at /rooms/<id>, so paths are absolute).
export default defineConfig({
  root: resolve(__dirname, 'demo'),
  base: '/',
  plugins: [react()],
  build: {
    outDir: resolve(__dirname, '../../arbiter_server/web'),
    emptyOutDir: true,
    assetsDir: 'assets',
  },
});
