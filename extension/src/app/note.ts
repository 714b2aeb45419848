// A markdown description edited in place (MLflow's mlflow.note.content tag of a run or an
// experiment): shown as markdown drawn as DOM nodes, Edit opens a textarea, Ctrl+Enter or Save
// stores it, Escape or Cancel leaves it as it was; a refused save shows the server's error in place.

import { h } from "../views/common";
import { errorBox } from "./page";
import { markdown } from "./pages/run-markdown";

export interface NoteOptions {
  /** the class of the box; its parts are <cls>-text, -edit, -input, -save */
  cls: string;
  text: () => string;
  save: (text: string) => Promise<void>;
  empty: string;
}

export function noteEditor(o: NoteOptions): HTMLElement {
  const box = h("div", { class: o.cls });
  const draw = (): void => {
    const text = o.text();
    const edit = h("button", { type: "button", class: `${o.cls}-edit` }, text ? "Edit" : "Add a description");
    box.replaceChildren(text ? markdown(text, `${o.cls}-text`) : h("div", { class: "nbt-app-muted" }, o.empty), edit);
    edit.addEventListener("click", () => {
      const area = h("textarea", { class: `${o.cls}-input nbt-app-note-input`, rows: "6", "aria-label": "Description" });
      area.value = text;
      const save = h("button", { type: "button", class: `nbt-app-primary ${o.cls}-save` }, "Save");
      const cancel = h("button", { type: "button" }, "Cancel");
      const err = h("div");
      box.replaceChildren(area, h("div", { class: "nbt-app-toolbar" }, save, cancel, h("span", { class: "nbt-app-muted" }, "Ctrl+Enter saves")), err);
      area.focus();
      cancel.addEventListener("click", draw);
      const submit = async (): Promise<void> => {
        save.disabled = true;
        try {
          await o.save(area.value);
          draw();
        } catch (e) {
          err.replaceChildren(errorBox(e));
          save.disabled = false;
        }
      };
      save.addEventListener("click", () => void submit());
      area.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void submit();
        if (e.key === "Escape") draw();
      });
    });
  };
  draw();
  return box;
}
