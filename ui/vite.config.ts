// Vite builds the UI into `dist/`, which the Tauri shell embeds; Vitest runs the unit tests.
import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";

export default defineConfig({
  plugins: [svelte()],
  // Tauri's dev window loads this fixed address (src-tauri/tauri.conf.json `devUrl`).
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  // Pre-bundled so the first load in dev does not reload halfway (see FIELD-NOTES).
  optimizeDeps: { include: ["@tauri-apps/api/core", "@tauri-apps/api/mocks"] },
  build: {
    // WebKitGTK on Debian 12 and Safari 16 are the oldest engines the app meets.
    target: ["es2022", "safari16"],
    // Styles as files, never inline: the app's CSP allows `style-src 'self'` only.
    cssCodeSplit: false,
    assetsInlineLimit: 0,
  },
  test: {
    environment: "happy-dom",
    include: ["src/**/*.test.ts"],
  },
  resolve: process.env.VITEST ? { conditions: ["browser"] } : undefined,
});
