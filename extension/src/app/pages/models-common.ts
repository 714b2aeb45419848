// What the registry pages (models.ts, models-model.ts, models-version.ts) share: an action with its
// error shown in place, an editable description, a tags editor, a confirmation dialog, keyboard
// navigation in a table, and the history with its "as of" picker ("what was in Production on X").

import { Api } from "../../api";
import { h, MISSING } from "../../views/common";
import {
  endOfDay, fetchHistory, fetchSnapshot, formatTime, HistoryEvent, historyTable, Snapshot, stageBadge, STAGES, versionsIn,
} from "../../views/registry";
import { errorBox, link, loading } from "../page";
import { pathOf } from "../router";

export const modelPath = (name: string): string => pathOf("/models/:name", { name });
export const versionPath = (name: string, version: number | string): string => pathOf("/models/:name/versions/:version", { name, version: String(version) });
export const runPath = (runId: string): string => pathOf("/runs/:runId", { runId });

/** A slot where an action's error shows (role=alert), empty until one fails. */
export function errorSlot(): HTMLElement {
  return h("div", { class: "nbt-models-error-slot" });
}

/**
 * Run `fn` for a button: disabled while it runs, the slot cleared first and given the server's
 * message if it fails (the page stays as it is). Resolves true when `fn` succeeded.
 */
export async function act(button: HTMLButtonElement | null, slot: HTMLElement, fn: () => Promise<unknown>): Promise<boolean> {
  slot.replaceChildren();
  if (button) button.disabled = true;
  try {
    await fn();
    return true;
  } catch (e) {
    slot.replaceChildren(errorBox(e));
    return false;
  } finally {
    if (button) button.disabled = false;
  }
}

export function section(title: string, ...children: (Node | string | null)[]): HTMLElement {
  return h("section", { class: "nbt-models-section", "data-section": title.toLowerCase() }, h("h2", {}, title), ...children);
}

/** Text shown with an Edit button; Save sends it through `save` (errors in place, the editor stays). */
export function editableText(value: string, placeholder: string, save: (text: string) => Promise<unknown>): HTMLElement {
  const box = h("div", { class: "nbt-models-editable" });
  const show = (): void => {
    const text = value
      ? h("div", { class: "nbt-models-description" }, value)
      : h("div", { class: "nbt-models-description nbt-models-muted" }, placeholder);
    const edit = h("button", { class: "nbt-models-edit", type: "button" }, value ? "Edit" : "Add a description");
    edit.addEventListener("click", editor);
    box.replaceChildren(text, edit);
  };
  const editor = (): void => {
    const area = h("textarea", { class: "nbt-models-textarea", rows: 4, "aria-label": "Description" });
    area.value = value;
    const slot = errorSlot();
    const ok = h("button", { class: "nbt-app-primary nbt-models-save", type: "button" }, "Save");
    const cancel = h("button", { type: "button" }, "Cancel");
    ok.addEventListener("click", async () => {
      const text = area.value;
      if (await act(ok, slot, () => save(text))) {
        value = text;
        show();
      }
    });
    cancel.addEventListener("click", show);
    area.addEventListener("keydown", (e) => {
      if (e.key === "Escape") show();
      else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) ok.click();
    });
    box.replaceChildren(area, h("div", { class: "nbt-app-toolbar" }, ok, cancel, h("span", { class: "nbt-models-muted" }, "Ctrl+Enter saves, Esc cancels")), slot);
    area.focus();
  };
  show();
  return box;
}

/** Tags as a table with a delete button each, and a row to add one. */
export function tagsEditor(tags: Record<string, string>, set: (key: string, value: string) => Promise<unknown>, remove: (key: string) => Promise<unknown>, done: () => void): HTMLElement {
  const slot = errorSlot();
  const entries = Object.entries(tags).filter(([k]) => !k.startsWith("mlflow."));
  const rows = entries.map(([k, v]) => {
    const del = h("button", { class: "nbt-models-tag-delete", type: "button", title: `Delete tag ${k}`, "aria-label": `Delete tag ${k}` }, "\u00d7");
    del.addEventListener("click", async () => {
      if (await act(del, slot, () => remove(k))) done();
    });
    return h("tr", { "data-tag": k }, h("td", {}, h("code", {}, k)), h("td", { class: "nbt-models-tag-value" }, v), h("td", {}, del));
  });
  const key = h("input", { class: "nbt-models-tag-key", placeholder: "key", "aria-label": "Tag key", size: 14 });
  const value = h("input", { class: "nbt-models-tag-value-input", placeholder: "value", "aria-label": "Tag value", size: 24 });
  const add = h("button", { class: "nbt-models-tag-add", type: "submit" }, "Add tag");
  const form = h("form", { class: "nbt-app-toolbar nbt-models-tag-form" }, key, value, add);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!key.value.trim()) {
      slot.replaceChildren(errorBox("A tag needs a key."));
      return;
    }
    if (await act(add, slot, () => set(key.value.trim(), value.value))) done();
  });
  return h("div", { class: "nbt-models-tags" },
    entries.length
      ? h("table", { class: "nbt-app-list nbt-models-tags-table" }, h("thead", {}, h("tr", {}, h("th", {}, "Key"), h("th", {}, "Value"), h("th", {}, ""))), h("tbody", {}, rows))
      : h("div", { class: "nbt-models-muted" }, "No tags."),
    form, slot);
}

/** A modal dialog; with `typeToConfirm`, the button is enabled only once that text is typed. */
export function confirmDialog(title: string, body: (Node | string)[], confirmLabel: string, typeToConfirm?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const input = typeToConfirm ? h("input", { class: "nbt-models-confirm-input", "aria-label": `Type ${typeToConfirm} to confirm` }) : null;
    const ok = h("button", { class: "nbt-app-danger nbt-models-confirm", type: "button", disabled: !!typeToConfirm }, confirmLabel);
    const cancel = h("button", { type: "button", class: "nbt-models-cancel" }, "Cancel");
    const dialog = h("dialog", { class: "nbt-models-dialog", "aria-label": title },
      h("h2", {}, title), h("div", {}, ...body),
      input ? h("label", { class: "nbt-models-confirm-label" }, "Type ", h("code", {}, typeToConfirm!), " to confirm: ", input) : null,
      h("div", { class: "nbt-app-toolbar" }, ok, cancel));
    const close = (answer: boolean): void => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    input?.addEventListener("input", () => {
      ok.disabled = input.value !== typeToConfirm;
    });
    ok.addEventListener("click", () => close(true));
    cancel.addEventListener("click", () => close(false));
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      close(false);
    });
    (document.querySelector(".nbt-app") ?? document.body).append(dialog);
    dialog.showModal();
    (input ?? cancel).focus();
  });
}

/**
 * Keyboard navigation in a table's rows: each row is focusable, Up/Down (and j/k) move, Home/End
 * jump, Enter opens the row's first link.
 */
export function keyNav(tbody: HTMLElement): void {
  const rows = (): HTMLElement[] => [...tbody.querySelectorAll<HTMLElement>(":scope > tr")];
  for (const r of rows()) r.tabIndex = 0;
  tbody.addEventListener("keydown", (e) => {
    const all = rows();
    const i = all.indexOf(document.activeElement as HTMLElement);
    if (i < 0) return;
    let next = -1;
    if (e.key === "ArrowDown" || e.key === "j") next = Math.min(all.length - 1, i + 1);
    else if (e.key === "ArrowUp" || e.key === "k") next = Math.max(0, i - 1);
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = all.length - 1;
    else if (e.key === "Enter") {
      all[i].querySelector<HTMLAnchorElement>("a[href]")?.click();
      e.preventDefault();
      return;
    }
    if (next >= 0) {
      all[next].focus();
      e.preventDefault();
    }
  });
}

/** "YYYY-MM-DD" of a local time. */
export function dayOf(ms: number): string {
  return formatTime(ms).slice(0, 10);
}

/** The moment an "as of" value means: a day is the state it closed with; a day and time that minute's end. */
export function momentOf(at: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2}))?$/.exec(at);
  if (!m) return null;
  if (!m[2]) return endOfDay(m[1]);
  const [y, mo, d] = m[1].split("-").map(Number);
  return new Date(y, mo - 1, d, Number(m[2]), Number(m[3]), 59, 999).getTime();
}

function snapshotTable(snap: Snapshot, highlight: number | null, name: string): HTMLElement {
  const rows: HTMLElement[] = [];
  for (const stage of STAGES) {
    const vs = versionsIn(snap, stage);
    rows.push(h("tr", { "data-stage": stage }, h("th", {}, stageBadge(stage)), h("td", {},
      vs.length ? vs.map((v, i) => [i ? ", " : "", h("a", { href: link(versionPath(name, v)), class: v === highlight ? "nbt-models-this" : "" }, `v${v}`)]) : MISSING)));
  }
  for (const [alias, v] of [...snap.aliases].sort(([a], [b]) => a.localeCompare(b))) {
    rows.push(h("tr", { "data-alias": alias }, h("th", {}, h("code", { class: "nbt-reg-alias" }, `@${alias}`)),
      h("td", {}, h("a", { href: link(versionPath(name, v)), class: v === highlight ? "nbt-models-this" : "" }, `v${v}`))));
  }
  return h("table", { class: "nbt-app-list nbt-models-asof-table" }, h("tbody", {}, rows));
}

export const MAX_HISTORY_SHOWN = 200;

/**
 * The history (of the model, or of one version) newest first, and the "as of" picker: a date (and
 * optional time) answered by the server's replay of the history, with `highlight` marked. `at`
 * is the picker's value from the URL; `onAt` puts a new one there.
 */
export function historySection(api: Api, name: string, version: number | null, at: string | null, onAt: (at: string | null) => void): HTMLElement {
  const list = h("div", { class: "nbt-models-history" }, loading("Loading the history…"));
  const date = h("input", { type: "date", class: "nbt-models-asof-date", "aria-label": "As of date" });
  const time = h("input", { type: "time", class: "nbt-models-asof-time", "aria-label": "As of time (optional)" });
  const answer = h("div", { class: "nbt-models-asof-answer", "aria-live": "polite" });
  const [d0, t0] = (at ?? "").split("T");
  date.value = d0 ?? "";
  time.value = t0 ?? "";
  let asked = 0;
  const ask = async (): Promise<void> => {
    const value = date.value ? (time.value ? `${date.value}T${time.value}` : date.value) : "";
    const mine = ++asked;
    if (!value) {
      answer.replaceChildren(h("span", { class: "nbt-models-muted" }, "Pick a date to see which version held each stage and alias then."));
      onAt(null);
      return;
    }
    const moment = momentOf(value);
    if (moment === null) return;
    onAt(value);
    answer.replaceChildren(loading("Replaying the history…"));
    try {
      const snap = await fetchSnapshot(api, name, moment);
      if (mine !== asked) return;
      const when = time.value ? `${date.value} ${time.value}` : `the end of ${date.value}`;
      answer.replaceChildren(
        h("div", { class: "nbt-models-asof-when" }, `At ${when} (your time zone): `,
          snap.stages.size ? `${snap.stages.size} version${snap.stages.size === 1 ? "" : "s"}` : "the model had no versions yet"),
        snapshotTable(snap, version, name));
    } catch (e) {
      if (mine === asked) answer.replaceChildren(errorBox(e));
    }
  };
  date.addEventListener("change", () => void ask());
  time.addEventListener("change", () => void ask());
  const today = h("button", { type: "button", class: "nbt-models-asof-now" }, "Now");
  today.addEventListener("click", () => {
    const now = new Date();
    date.value = dayOf(now.getTime());
    time.value = formatTime(now.getTime()).slice(11, 16);
    void ask();
  });
  void ask();
  void (async () => {
    try {
      const { events, total } = await fetchHistory(api, name, version ?? undefined);
      if (!events.length) {
        list.replaceChildren(h("div", { class: "nbt-models-muted" }, "No changes recorded yet."));
        return;
      }
      const first = Math.min(...events.map((e: HistoryEvent) => e.timestamp));
      date.min = dayOf(first);
      const shown = events.slice(-MAX_HISTORY_SHOWN).reverse();
      list.replaceChildren(
        total > shown.length ? h("div", { class: "nbt-models-muted" }, `The latest ${shown.length} of ${total} changes.`) : "",
        historyTable(shown));
    } catch (e) {
      list.replaceChildren(errorBox(e));
    }
  })();
  return section("History",
    h("div", { class: "nbt-models-asof" },
      h("label", { class: "nbt-models-asof-label" }, h("b", {}, "What was where on "), date, " at ", time), today,
      h("span", { class: "nbt-models-muted" }, " (no time: the state the day closed with)")),
    answer, list);
}
