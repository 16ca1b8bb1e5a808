/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The Flask API the dev server forwards to (override with DEJPEG_API=http://host:port).
const api = process.env.DEJPEG_API ?? 'http://127.0.0.1:5000';
const proxied = ['/detect', '/restore', '/models', '/health', '/openapi.json'];

export default defineConfig({
  plugins: [react()],
  // Relative asset URLs, so the built client works wherever Flask mounts it.
  base: './',
  server: {
    proxy: Object.fromEntries(proxied.map((path) => [path, { target: api, changeOrigin: true }])),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    pool: 'threads',
    maxWorkers: 1,
  },
});
