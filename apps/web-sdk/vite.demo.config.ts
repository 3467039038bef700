import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The demo page that `arbiter-server dev` serves at every room URL: index.html at
// dist-demo/, scripts in dist-demo/assets/, referenced as /assets/... (the gateway serves
// /assets/* from dist-demo/assets/, and the page lives at /rooms/<id>, so paths are absolute).
export default defineConfig({
  root: resolve(__dirname, 'demo'),
  base: '/',
  plugins: [react()],
  build: {
    outDir: resolve(__dirname, 'dist-demo'),
    emptyOutDir: true,
    assetsDir: 'assets',
  },
});
