/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` serves the app with hot reload and forwards API calls to a running
// `flowgen local` (default http://127.0.0.1:3000), which also serves the built app itself.
const stack = process.env.FLOWGEN_API ?? "http://127.0.0.1:3000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: { "/courses": stack, "/_local": stack, "/config.json": stack },
  },
  test: {
    // happy-dom: a file's environment starts in about a third of jsdom's time (the suite 41 s ->
    // 29 s on 2 cores, where setting up 25 jsdom environments was half the work); the Diagram
    // tests, whose subject is sanitising parsed SVG, keep jsdom (their file says so)
    environment: "happy-dom",
    // as jsdom: nothing is fetched that a test did not stub (happy-dom would load an iframe's
    // page, such as a lesson's YouTube embed, and the scripts and stylesheets a page names)
    environmentOptions: {
      happyDOM: {
        settings: {
          disableJavaScriptFileLoading: true,
          disableCSSFileLoading: true,
          handleDisabledFileLoadingAsSuccess: true,
          navigation: {
            disableMainFrameNavigation: true,
            disableChildFrameNavigation: true,
            disableChildPageNavigation: true,
          },
        },
      },
    },
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
    // every core: vitest's default leaves one free, which on a 2-core CI machine ran the 25
    // files one at a time (57 s against 40 s with both; each file pays its own jsdom and imports)
    maxWorkers: "100%",
  },
});
