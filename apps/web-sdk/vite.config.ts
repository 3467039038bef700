/// <reference types="vitest/config" />
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/** `src/styles.css` as `dist/styles.css`, the stylesheet apps import (`arbiter-video-react/styles.css`). */
function stylesheet(): Plugin {
  return {
    name: 'arbiter-stylesheet',
    apply: 'build',
    generateBundle() {
      this.emitFile({
        type: 'asset',
        fileName: 'styles.css',
        source: readFileSync(resolve(__dirname, 'src/styles.css'), 'utf-8'),
      });
    },
  };
}

// Library build: ES modules for the root and the subpath exports; React stays external.
// Declarations come from `tsc -p tsconfig.build.json` (see package.json "build:lib").
export default defineConfig({
  plugins: [react(), stylesheet()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    lib: {
      entry: {
        index: resolve(__dirname, 'src/index.ts'),
        core: resolve(__dirname, 'src/core/index.ts'),
        hooks: resolve(__dirname, 'src/hooks/index.ts'),
        prefabs: resolve(__dirname, 'src/prefabs/index.ts'),
      },
      formats: ['es'],
    },
    rollupOptions: {
      external: ['react', 'react-dom', 'react/jsx-runtime', 'react-dom/client'],
    },
  },
  test: {
    globals: true,
    environment: 'jsdom',
    setupFiles: ['./vitest.setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
