import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The demo page that `arbiter-server dev` serves at every room URL: index.html at
// dist-demo/, everything else under /assets/ (the gateway serves /assets/* from there).
export default defineConfig({
  root: resolve(__dirname, 'demo'),
  base: '/assets/',
  plugins: [react()],
  build: {
    outDir: resolve(__dirname, 'dist-demo'),
    emptyOutDir: true,
    assetsDir: '',
  },
});
