/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build goes into the Python package, which serves it at / (rillet/server/_ui.py).
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../rillet/ui_static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1000,
  },
  server: {
    // `npm run dev` against a running `rillet ui` (port 8470).
    proxy: { "/api": "http://127.0.0.1:8470" },
  },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.tsx", "src/**/*.test.ts"],
    // generous: a loaded 2-core machine (the 5 s default timed out under load)
    testTimeout: 30_000,
  },
});
