// Runs ticked in one view show in the others of the same group (a dashboard's table, charts
// and parallel coordinates; or views that name the same selection id).

type Listener = (runIds: string[], origin: unknown) => void;

export class Selection {
  private ids: string[] = [];
  private listeners = new Set<Listener>();

  get runIds(): string[] {
    return [...this.ids];
  }

  set(runIds: string[], origin?: unknown): void {
    const next = [...new Set(runIds)];
    if (next.length === this.ids.length && next.every((id, i) => id === this.ids[i])) return;
    this.ids = next;
    for (const l of [...this.listeners]) l(this.runIds, origin);
  }

  toggle(runId: string, origin?: unknown): void {
    this.set(this.ids.includes(runId) ? this.ids.filter((id) => id !== runId) : [...this.ids, runId], origin);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const groups = new Map<string, Selection>();

/** The selection shared by every view naming `id` (a new one for an empty id). */
export function selectionFor(id?: string | null): Selection {
  if (!id) return new Selection();
  let s = groups.get(id);
  if (!s) groups.set(id, (s = new Selection()));
  return s;
}
