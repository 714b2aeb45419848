// What the side panel and the run card compute without a DOM: elapsed times, a sparkline's
// scale, the %%track toggle of a cell's source, and the code the panel inserts.

/** "0.8 s", "42.0 s" (truncated to tenths), "3 min 05 s", "2 h 07 min" (never negative). */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  const seconds = ms / 1000;
  // a clock truncates: 59.99 s is not "60.0 s"
  if (seconds < 60) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const whole = Math.floor(seconds);
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min ${String(whole % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** A run's time: ticking since its start while RUNNING (or with no end), its duration once ended. */
export function runTime(start: number | null | undefined, end: number | null | undefined, status: string, now = Date.now()): string {
  if (!start) return "";
  const stop = status === "RUNNING" || !end ? now : end;
  return formatElapsed(stop - start);
}

export interface SparkScale {
  /** SVG polyline points, "x,y x,y ..." */
  points: string;
  min: number;
  max: number;
  /** every finite value is the same: drawn as a level line in the middle, not stretched */
  flat: boolean;
  /** finite values drawn */
  n: number;
}

/** Where each finite value goes in a width x height box; min at the bottom, max at the top. */
export function sparkScale(values: number[], width = 120, height = 24, pad = 2): SparkScale | null {
  const finite = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  if (finite.length === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  for (const v of finite) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const flat = max === min;
  const step = finite.length > 1 ? (width - 2 * pad) / (finite.length - 1) : 0;
  const inner = height - 2 * pad;
  const y = (v: number): number => (flat ? height / 2 : pad + (1 - (v - min) / (max - min)) * inner);
  const points = finite.map((v, i) => `${(pad + i * step).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  return { points, min, max, flat, n: finite.length };
}

const TRACK = /^%%track(\s|$)/;

/** The cell's source with `%%track` added as its first line, or removed if it is there. */
export function toggleTrack(source: string): string {
  const lines = source.split("\n");
  let first = 0;
  while (first < lines.length && lines[first].trim() === "") first++;
  if (first < lines.length && TRACK.test(lines[first].trimStart())) {
    lines.splice(first, 1);
    return lines.join("\n");
  }
  // a cell magic must open the cell: the blank lines above the code go
  const rest = lines.slice(first).join("\n");
  return rest ? `%%track\n${rest}` : "%%track\n";
}

export function hasTrack(source: string): boolean {
  return TRACK.test(source.replace(/^(\s*\n)*/, "").trimStart());
}

function pyString(s: string): string {
  return JSON.stringify(s); // a JSON string is a valid Python literal for ids and names
}

/** The cell the panel inserts to compare ticked runs. */
export function compareCode(runIds: string[]): string {
  return `import nbtrack\n\nnbtrack.compare([${runIds.map(pyString).join(", ")}])`;
}

/** The cell the panel inserts for a dashboard of ticked runs (of one experiment). */
export function dashboardCode(runIds: string[], experiment?: string): string {
  const filter = `attributes.run_id IN (${runIds.map((id) => `'${id.replace(/'/g, "")}'`).join(", ")})`;
  const exp = experiment ? `${pyString(experiment)}, ` : "";
  return `import nbtrack\n\nnbtrack.dashboard(${exp}filter=${pyString(filter)})`;
}

/** A notebook path as Jupyter names it (relative to its root), from the absolute path a run recorded. */
export function serverPath(recorded: string, serverRoot: string): string | null {
  if (!recorded) return null;
  let path = recorded.replace(/^file:\/\//, "");
  if (!path.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(path)) return path;
  const root = serverRoot.replace(/[\\/]+$/, "");
  const norm = (p: string): string => p.replace(/\\/g, "/");
  path = norm(path);
  const r = norm(root);
  if (r && (path === r || path.startsWith(r + "/"))) return path.slice(r.length + 1);
  if (!r || r === "/") return path.replace(/^\//, "");
  return null;
}

/** What the panel says under its list: nothing, why it is empty, or that only the newest are shown. */
export function listNote(shown: number, more: boolean, filter: string): string {
  if (!shown) return filter ? "No run matches this filter." : "No runs yet in this store.";
  if (more) return `The newest ${shown} runs are listed; a filter or an experiment narrows the list.`;
  return "";
}
