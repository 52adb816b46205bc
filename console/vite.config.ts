import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The console is served by the API under /admin/ (the admin-console
// function). Its files are loaded relative to the page, and the API is the
// page's folder's parent (src/api/client.ts), so it works under whatever
// path prefix the API is served at (a custom domain's base path, MiniStack).
export default defineConfig({
  base: "./",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Hashed file names: the function serves assets/ as immutable.
    assetsDir: "assets",
    sourcemap: false,
  },
});
