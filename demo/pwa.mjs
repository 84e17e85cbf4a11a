/**
 * The demo as an installable PWA (issue 16): vite-plugin-pwa builds `sw.js` from demo/sw.ts
 * (Workbox's precache, manifest injected at build time) and writes the web app manifest. Only the
 * production build (`DEMO_BUILD=1`) has it: Vite's dev server serves source modules one by one,
 * which no precache can list.
 */
import { VitePWA } from 'vite-plugin-pwa';

/** The PWA plugin for the demo's production build. */
export function demoPwa() {
  return VitePWA({
    strategies: 'injectManifest',
    srcDir: '.',
    filename: 'sw.ts',
    // The page registers the worker itself (demo/pwa-register.ts): never in msw mode, whose own
    // service worker (mockServiceWorker.js) needs the same scope.
    injectRegister: false,
    // The icon is in the glob below already.
    includeManifestIcons: false,
    injectManifest: {
      // A classic script: every engine with service workers runs it, module workers are newer.
      rollupFormat: 'iife',
      globPatterns: ['**/*.{js,css,html,svg,webmanifest}'],
      globIgnores: ['mockServiceWorker.js'],
    },
    manifest: {
      name: 'chainsync demo',
      short_name: 'chainsync',
      description: 'Three replicas of one task list, reconciling their chains of versions.',
      start_url: './',
      scope: './',
      display: 'standalone',
      background_color: '#ffffff',
      theme_color: '#1d4ed8',
      icons: [{ src: 'icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
    },
  });
}
