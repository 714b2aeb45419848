// nbtrack run table: renders one page the kernel sends; every interaction is a trait change
// (filter, sort, page, selection, visible columns) that the kernel answers with a new page.

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const KIND_TITLES = { attr: "Run", param: "Params", metric: "Metrics", tag: "Tags" };

function render({ model, el }) {
  el.classList.add("nbt-table");
  const root = h("div", { class: "nbt-root" });
  el.append(root);

  // -- toolbar: filter box, chips, error ------------------------------------------------
  const input = h("input", {
    class: "nbt-filter", type: "text", spellcheck: "false",
    placeholder: "Filter: metrics.acc > 0.9 AND params.model = 'rf'   (Enter to apply)",
  });
  input.value = model.get("filter");
  const apply = () => { model.set("filter", input.value); model.save_changes(); };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") apply(); });
  const clearFilter = h("button", { class: "nbt-btn", title: "Clear the filter",
    onclick: () => { input.value = ""; apply(); } }, "×");
  const chips = h("div", { class: "nbt-chips" });
  const error = h("pre", { class: "nbt-error" });

  const group = h("input", { type: "checkbox", class: "nbt-group" });
  group.addEventListener("change", () => { model.set("group_by_cell", group.checked); model.save_changes(); });
  const groupLabel = h("label", { class: "nbt-toggle", title: "Show only the newest run of each notebook cell" },
    group, " latest run per cell");

  const chooserBtn = h("button", { class: "nbt-btn nbt-columns-btn" }, "Columns ▾");
  const chooser = h("div", { class: "nbt-chooser", hidden: true });
  chooserBtn.addEventListener("click", () => { chooser.hidden = !chooser.hidden; drawChooser(); });

  const selInfo = h("span", { class: "nbt-selinfo" });
  const clearSel = h("button", { class: "nbt-btn nbt-clear-sel",
    onclick: () => { model.set("selected", []); model.save_changes(); } }, "clear selection");

  const info = h("span", { class: "nbt-info" });
  root.append(
    h("div", { class: "nbt-bar" }, input, clearFilter),
    chips, error,
    h("div", { class: "nbt-bar nbt-bar2" }, groupLabel, chooserBtn, selInfo, clearSel, h("span", { class: "nbt-grow" }), info),
    chooser,
  );

  // -- table ---------------------------------------------------------------------------
  const scroller = h("div", { class: "nbt-scroll" });
  const table = h("table", { class: "nbt-grid" });
  scroller.append(table);
  root.append(scroller);

  // -- pager ---------------------------------------------------------------------------
  const prev = h("button", { class: "nbt-btn nbt-prev", onclick: () => goto(model.get("page") - 1) }, "‹ Prev");
  const next = h("button", { class: "nbt-btn nbt-next", onclick: () => goto(model.get("page") + 1) }, "Next ›");
  const pageText = h("span", { class: "nbt-page" });
  const sizeSel = h("select", { class: "nbt-size" },
    [25, 50, 100, 200].map((n) => h("option", { value: n }, `${n} / page`)));
  sizeSel.addEventListener("change", () => {
    model.set("page_size", Number(sizeSel.value)); model.set("page", 0); model.save_changes();
  });
  root.append(h("div", { class: "nbt-bar nbt-pager" }, prev, pageText, next, sizeSel));

  function pages() { return Math.max(1, Math.ceil(model.get("total") / model.get("page_size"))); }
  function goto(p) {
    const target = Math.min(Math.max(p, 0), pages() - 1);
    if (target !== model.get("page")) { model.set("page", target); model.save_changes(); }
  }

  function toggle(runId, on) {
    const sel = model.get("selected").slice();
    const i = sel.indexOf(runId);
    if (on && i < 0) sel.push(runId);
    if (!on && i >= 0) sel.splice(i, 1);
    model.set("selected", sel);
    model.save_changes();
  }

  function drawTable() {
    const columns = model.get("columns");
    const rows = model.get("rows");
    const selected = new Set(model.get("selected"));
    const colors = model.get("colors");
    const sort = model.get("sort"), desc = model.get("descending");
    table.replaceChildren();
    const pageIds = rows.map((r) => r.id);
    const all = h("input", { type: "checkbox", class: "nbt-check-all", title: "Select the runs on this page" });
    all.checked = pageIds.length > 0 && pageIds.every((id) => selected.has(id));
    all.addEventListener("change", () => {
      const sel = new Set(model.get("selected"));
      for (const id of pageIds) { if (all.checked) sel.add(id); else sel.delete(id); }
      model.set("selected", [...sel]); model.save_changes();
    });
    const head = h("tr", {}, h("th", { class: "nbt-th-check" }, all));
    for (const c of columns) {
      const arrow = c.id === sort ? (desc ? " ▼" : " ▲") : "";
      const th = h("th", { class: `nbt-th nbt-kind-${c.kind}`, "data-col": c.id,
        title: `${KIND_TITLES[c.kind] || c.kind}: ${c.label} (click to sort)` }, c.label, arrow);
      th.addEventListener("click", () => {
        if (c.id === sort) model.set("descending", !desc);
        else { model.set("sort", c.id); model.set("descending", c.kind === "metric" || c.id === "attr:start_time"); }
        model.set("page", 0);
        model.save_changes();
      });
      head.append(th);
    }
    const body = h("tbody");
    for (const r of rows) {
      const on = selected.has(r.id);
      const check = h("input", { type: "checkbox", class: "nbt-check" });
      check.checked = on;
      check.addEventListener("click", (e) => { e.stopPropagation(); toggle(r.id, check.checked); });
      const tr = h("tr", { class: `nbt-row${on ? " nbt-selected" : ""}`, "data-run-id": r.id },
        h("td", { class: "nbt-td-check", style: on && colors[r.id] ? `border-left: 4px solid ${colors[r.id]}` : "" }, check));
      r.cells.forEach((text, i) => {
        const c = columns[i];
        const td = h("td", { class: `nbt-td nbt-kind-${c.kind}`, title: r.titles ? r.titles[i] : text });
        if (c.id === "attr:status") td.append(h("span", { class: `nbt-status nbt-${String(text).toLowerCase()}` }, text));
        else td.append(text);
        if (c.id === "attr:run_name" && r.n > 1) {
          td.append(h("span", { class: "nbt-badge", title: `${r.n} runs of this cell; showing the newest` }, `×${r.n}`));
        }
        tr.append(td);
      });
      tr.addEventListener("click", () => toggle(r.id, !selected.has(r.id)));
      body.append(tr);
    }
    if (!rows.length) {
      body.append(h("tr", {}, h("td", { class: "nbt-empty", colspan: columns.length + 1 },
        model.get("filter_error").problem ? "Fix the filter to see runs." : "No runs match.")));
    }
    table.append(h("thead", {}, head), body);
    const page = model.get("page");
    pageText.textContent = `Page ${page + 1} of ${pages()}`;
    prev.disabled = page <= 0;
    next.disabled = page >= pages() - 1;
    sizeSel.value = String(model.get("page_size"));
    group.checked = model.get("group_by_cell");
    const nSel = model.get("selected").length;
    selInfo.textContent = nSel ? `${nSel} selected` : "click rows to select";
    clearSel.hidden = nSel === 0;
    info.textContent = model.get("info");
  }

  function drawHeader() {
    const err = model.get("filter_error");
    if (err && err.problem) {
      // the caret sits under the column the parser names: pad with the hidden text itself
      const text = err.text || "";
      const caret = err.position
        ? h("div", {}, h("span", { style: "visibility: hidden" }, text.slice(0, err.position - 1)), "^")
        : null;
      error.replaceChildren(h("div", {}, text), caret, h("div", {}, err.problem));
      error.hidden = false;
      input.classList.add("nbt-invalid");
    } else {
      error.textContent = "";
      error.hidden = true;
      input.classList.remove("nbt-invalid");
    }
    if (document.activeElement !== input) input.value = model.get("filter");
    chips.replaceChildren(...model.get("chips").map((c) => h("span", { class: "nbt-chip" }, c)));
  }

  function drawChooser() {
    if (chooser.hidden) return;
    const visible = new Set(model.get("visible"));
    const search = h("input", { class: "nbt-chooser-search", type: "text", placeholder: "find a column" });
    const list = h("div", { class: "nbt-chooser-list" });
    const fill = () => {
      const q = search.value.toLowerCase();
      list.replaceChildren();
      for (const kind of ["attr", "param", "metric", "tag"]) {
        const items = model.get("catalogue").filter((c) => c.kind === kind && c.label.toLowerCase().includes(q));
        if (!items.length) continue;
        list.append(h("div", { class: "nbt-chooser-kind" }, KIND_TITLES[kind]));
        for (const c of items) {
          const box = h("input", { type: "checkbox", "data-col": c.id });
          box.checked = visible.has(c.id);
          box.addEventListener("change", () => {
            const now = model.get("visible").filter((id) => id !== c.id);
            if (box.checked) now.push(c.id);
            model.set("visible", now); model.save_changes();
          });
          list.append(h("label", { class: "nbt-chooser-item" }, box, ` ${c.label}`,
            c.count ? h("span", { class: "nbt-count" }, ` ${c.count}`) : null));
        }
      }
    };
    search.addEventListener("input", fill);
    fill();
    chooser.replaceChildren(search, list);
  }

  model.on("change:rows", drawTable);
  model.on("change:columns", drawTable);
  model.on("change:selected", drawTable);
  model.on("change:colors", drawTable);
  model.on("change:total", drawTable);
  model.on("change:page", drawTable);
  model.on("change:info", () => { info.textContent = model.get("info"); });
  model.on("change:group_by_cell", drawTable);
  model.on("change:filter_error", () => { drawHeader(); drawTable(); });
  model.on("change:chips", drawHeader);
  model.on("change:filter", drawHeader);
  model.on("change:catalogue", drawChooser);
  model.on("change:visible", drawChooser);
  model.on("change:busy", () => root.classList.toggle("nbt-busy", model.get("busy")));
  drawHeader();
  drawTable();
}

export default { render };
