/// <reference types="vitest/config" />
// Builds the web app into dist/ (served by the server at `/`); `npm run dev` proxies the API
// to a server on :8103. Vitest runs the component tests in jsdom.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const API = ['/fhir', '/auth', '/oauth2', '/admin/projects', '/.well-known', '/healthz'];

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 2000 },
  server: { proxy: Object.fromEntries(API.map((p) => [p, 'http://localhost:8103'])) },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.tsx', 'src/**/*.test.ts'],
    setupFiles: ['test/setup-dom.ts'],
    testTimeout: 30_000,
  },
});
