import { defineConfig } from "vite";

// A static site: relative asset paths so the same build works from S3, a CDN path or local mode.
export default defineConfig({
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1200 },
});
