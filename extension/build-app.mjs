// The web UI's build (`npm run build:app`): src/app/main.ts bundled by esbuild into
// ../nbtrack/server/webui/ (index.html + static/), which nbtrack server serves at /. plotly.js is
// a chunk of its own, fetched on the first chart.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

const out = "../nbtrack/server/webui";
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/static`, { recursive: true });
await build({
  entryPoints: { main: "src/app/main.ts" },
  bundle: true,
  splitting: true,
  format: "esm",
  target: "es2020",
  minify: true,
  sourcemap: false,
  outdir: `${out}/static`,
  chunkNames: "chunk-[hash]",
  loader: { ".svg": "text" },
  logLevel: "warning",
});
copyFileSync("src/app/index.html", `${out}/index.html`);
