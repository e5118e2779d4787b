import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// KEYNET_BACKEND points the dev proxy at another server (default: `keynet serve`'s default address).
const backend = process.env.KEYNET_BACKEND ?? 'http://127.0.0.1:8080';
const proxied = ['/console', '/api', '/v1', '/v2', '/healthz'];

export default defineConfig({
  plugins: [react()],
  build: {
    // The Rust build passes an absolute --outDir outside web/; Vite only empties such a folder when told to.
    emptyOutDir: true,
    manifest: true,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/graphql': { target: backend, ws: true },
      ...Object.fromEntries(proxied.map((path) => [path, { target: backend }])),
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
