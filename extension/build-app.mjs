// The web UI's build (`npm run build:app`): src/app/main.ts bundled by esbuild into
// ../nbtrack/server/webui/ (index.html + static/), which nbtrack server serves at /. plotly.js is
// a chunk of its own, fetched on the first chart.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, renameSync, rmSync } from "node:fs";

// built beside the target, then swapped in: a server serving the old build never sees a half-empty
// folder (browser tests run while someone rebuilds)
const target = "../nbtrack/server/webui";
const out = `${target}.build-${process.pid}`;
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
const old = `${target}.old-${process.pid}`;
try {
  renameSync(target, old);
} catch {
  /* first build */
}
renameSync(out, target);
rmSync(old, { recursive: true, force: true });
