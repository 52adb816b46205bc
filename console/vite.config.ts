import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The console is served by the API under /admin/ (the admin-console
// function), so every asset URL starts there and the API is same-origin.
export default defineConfig({
  base: "/admin/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Hashed file names: the function serves assets/ as immutable.
    assetsDir: "assets",
    sourcemap: false,
  },
});
