import { describe, expect, it } from "vitest";

import { Api } from "../src/api";
import { filterOf } from "../src/app/pages/models";
import { keyNav, momentOf } from "../src/app/pages/models-common";
import { h } from "../src/views/common";
import { fetchSnapshot, quoted, schemaTable, versionsIn } from "../src/views/registry";

describe("the models list's search", () => {
  it("reads plain text as a name match and passes MLflow's grammar through", () => {
    expect(filterOf("")).toBe("");
    expect(filterOf("  iris ")).toBe("name ILIKE '%iris%'");
    expect(filterOf("o'brien")).toBe("name ILIKE '%o''brien%'");
    expect(filterOf("name LIKE 'ir%'")).toBe("name LIKE 'ir%'");
    expect(filterOf("tags.team = 'x'")).toBe("tags.team = 'x'");
    expect(filterOf("name = 'unclosed")).toBe("name = 'unclosed"); // the server says what is wrong
    expect(quoted("a'b")).toBe("'a''b'");
  });
});

describe("the history's as-of moment", () => {
  it("is a day's last millisecond, or the end of the minute given (local time)", () => {
    expect(momentOf("2026-01-20")).toBe(new Date(2026, 0, 21).getTime() - 1);
    expect(momentOf("2026-01-15T11:00")).toBe(new Date(2026, 0, 15, 11, 0, 59, 999).getTime());
    expect(momentOf("yesterday")).toBeNull();
  });

  it("asks the server to replay the history and reads its answer", async () => {
    const asked: any[] = [];
    const fetch = (async (url: string, init: RequestInit) => {
      asked.push([url, JSON.parse(String(init.body))]);
      return new Response(JSON.stringify({ name: "m", timestamp: 5, stages: [{ version: 1, stage: "Archived" }, { version: 2, stage: "Production" }],
        aliases: [{ alias: "champion", version: 2 }] }));
    }) as unknown as typeof globalThis.fetch;
    const snap = await fetchSnapshot(new Api({ base: "/api", fetch }), "m", 5.7);
    expect(asked).toEqual([["/api/2.0/nbtrack/views/registry-snapshot", { name: "m", at: 5 }]]);
    expect(versionsIn(snap, "Production")).toEqual([2]);
    expect(snap.aliases.get("champion")).toBe(2);
  });
});

describe("the signature tables", () => {
  it("list columns, tensors and params", () => {
    const inputs = schemaTable([{ name: "x", type: "double", required: true }, { type: "tensor", "tensor-spec": { dtype: "float32", shape: [-1, 4] } }], "inputs");
    const rows = [...inputs.querySelectorAll("tbody tr")].map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent));
    expect(rows).toEqual([["0", "x", "double", "yes"], ["1", "(unnamed)", "tensor float32 (-1, 4)", "yes"]]);
    const params = schemaTable([{ name: "temperature", type: "double", default: 0.5 }], "params");
    expect([...params.querySelectorAll("td")].map((c) => c.textContent)).toEqual(["temperature", "double", "0.5"]);
  });
});

describe("keyboard navigation in a table", () => {
  it("moves the focus with the arrows and opens a row's link with Enter", () => {
    let opened = "";
    const tbody = h("tbody", {}, ["a", "b", "c"].map((n) => h("tr", {}, h("td", {}, h("a", { href: `#/models/${n}`, onclick: (e: Event) => { e.preventDefault(); opened = n; } }, n)))));
    document.body.append(h("table", {}, tbody));
    keyNav(tbody);
    const rows = [...tbody.querySelectorAll("tr")];
    rows[0].focus();
    const key = (k: string): void => void document.activeElement!.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
    key("ArrowDown");
    expect(document.activeElement).toBe(rows[1]);
    key("End");
    expect(document.activeElement).toBe(rows[2]);
    key("ArrowDown");
    expect(document.activeElement).toBe(rows[2]);
    key("k");
    key("Enter");
    expect(opened).toBe("b");
  });
});

describe("the REST client's methods", () => {
  it("sends no body with a GET (with or without arguments) and JSON with PATCH and DELETE", async () => {
    const sent: [string, string, unknown][] = [];
    const fetch = (async (url: string, init: RequestInit) => {
      sent.push([String(init.method), url, init.body]);
      return new Response("{}");
    }) as unknown as typeof globalThis.fetch;
    const api = new Api({ base: "/api", fetch });
    await api.mlflow("GET", "logged-models/m-1");
    await api.mlflow("GET", "registered-models/get", { name: "a b" });
    await api.mlflow("PATCH", "registered-models/update", { name: "a", description: "d" });
    await api.mlflow("DELETE", "registered-models/alias", { name: "a", alias: "x" });
    expect(sent).toEqual([
      ["GET", "/api/2.0/mlflow/logged-models/m-1", undefined],
      ["GET", "/api/2.0/mlflow/registered-models/get?name=a+b", undefined],
      ["PATCH", "/api/2.0/mlflow/registered-models/update", '{"name":"a","description":"d"}'],
      ["DELETE", "/api/2.0/mlflow/registered-models/alias", '{"name":"a","alias":"x"}'],
    ]);
  });
});
