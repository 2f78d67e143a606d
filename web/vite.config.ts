// Built by `npm run build` (web/build runs it for CMake): one hashed JS and one CSS file, no
// inline script or style (the controller's Content-Security-Policy allows only 'self').
// `npm run dev` serves the UI with the API proxied to a controller (L4D2_CONTROLLER).
import {defineConfig} from 'vite';

export default defineConfig({
  oxc: {jsx: {runtime: 'automatic', importSource: 'preact'}},
  build: {
    target: 'es2022',
    modulePreload: {polyfill: false},
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    proxy: {'/api': {target: process.env.L4D2_CONTROLLER ?? 'http://127.0.0.1:8080', changeOrigin: false}},
  },
  test: {environment: 'node', include: ['test/**/*.test.ts']},
});
