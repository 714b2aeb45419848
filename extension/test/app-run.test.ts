import { describe, expect, it } from "vitest";

import { Api } from "../src/api";
import { flavorsOf, inertHtml, kindOf, notebookView, yamlField } from "../src/app/pages/run-artifacts";
import { artifactUrl, commitUrl, formatDuration } from "../src/app/pages/run-common";
import { markdown } from "../src/app/pages/run-markdown";

const MLMODEL = `artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
    loader_module: mlflow.sklearn
  sklearn:
    pickled_model: model.pkl
signature:
  inputs: '[{"type": "double", "name": "a", "required": true}, {"type": "double",
    "name": "it''s", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
  params: null
utc_time_created: '2026-12-04 21:12:15.317666'
`;

describe("the run page's artifacts", () => {
  it("reads the MLmodel signature, folded over lines and with quotes doubled", () => {
    expect(JSON.parse(yamlField(MLMODEL, "signature", "inputs")!)).toEqual([
      { type: "double", name: "a", required: true },
      { type: "double", name: "it's", required: true },
    ]);
    expect(JSON.parse(yamlField(MLMODEL, "signature", "outputs")!)).toEqual([{ type: "long", required: true }]);
    expect(yamlField(MLMODEL, "signature", "params")).toBeNull();
    expect(yamlField(MLMODEL, "nothing", "inputs")).toBeNull();
    expect(flavorsOf(MLMODEL)).toEqual(["python_function", "sklearn"]);
  });

  it("previews by file name", () => {
    expect(["model/MLmodel", "a.PNG", "t.parquet", "x.tsv", "c.yml", "r.html", "d.json", "notes", "x.py"].map(kindOf)).toEqual([
      "mlmodel", "image", "table", "table", "yaml", "html", "json", "text", "text",
    ]);
  });

  it("downloads through the server's /get-artifact, beside its api/ (under any path prefix)", () => {
    expect(artifactUrl(new Api({ base: "/prefix/api/" }), "abc", "dir/a b#.txt")).toBe("/prefix/get-artifact?run_id=abc&path=dir%2Fa%20b%23.txt");
    expect(artifactUrl(new Api({ base: "/api" }), "abc", "x&y=1")).toBe("/get-artifact?run_id=abc&path=x%26y%3D1");
  });

  it("makes HTML inert: no scripts, frames or external resources, a CSP first", () => {
    const out = inertHtml(`<html><head><link rel="stylesheet" href="http://x/a.css"><meta http-equiv="refresh" content="0;url=http://x"></head><body><h1 style="color:red">T</h1><img src="http://x/p.png"><img src="data:image/png;base64,AA"><script>alert(1)</script><iframe src="http://x"></iframe><video poster="http://x/v.png"></video></body></html>`);
    const doc = new DOMParser().parseFromString(out, "text/html");
    expect(doc.head.firstElementChild!.getAttribute("http-equiv")).toBe("Content-Security-Policy");
    expect(doc.querySelectorAll("script, iframe, link, meta[http-equiv='refresh']").length).toBe(0);
    expect([...doc.querySelectorAll("img")].map((i) => i.getAttribute("src"))).toEqual([null, "data:image/png;base64,AA"]);
    expect(doc.querySelector("video")!.hasAttribute("poster")).toBe(false);
    expect(doc.querySelector("h1")!.outerHTML).toBe('<h1 style="color:red">T</h1>');
    const css = inertHtml(`<style>@import "http://x/a.css"; b { background: url(http://x/b.png) } i { background: url('data:image/png;base64,AA') }</style><p style="background-image: url(http://x/c.png)">p</p>`);
    expect(css).not.toContain("http://x");
    expect(css).toContain("url('data:image/png;base64,AA')");
  });

  it("links a commit to its forge's page", () => {
    const sha = "0123456789abcdef0123456789abcdef01234567";
    expect(commitUrl("git@github.com:org/repo.git", sha)).toBe(`https://github.com/org/repo/commit/${sha}`);
    expect(commitUrl("https://github.com/org/repo", sha)).toBe(`https://github.com/org/repo/commit/${sha}`);
    expect(commitUrl("https://token@gitlab.com/g/p.git", sha)).toBe(`https://gitlab.com/g/p/-/commit/${sha}`);
    expect(commitUrl("ssh://git@bitbucket.org/t/r.git", sha)).toBe(`https://bitbucket.org/t/r/commits/${sha}`);
    expect(commitUrl("https://git.example.com/x/y.git", sha)).toBeNull();
    expect(commitUrl("git@github.com:org/repo.git", "not a sha")).toBeNull();
  });

  it("draws any JSON as a notebook without throwing", () => {
    expect(notebookView({}).textContent).toContain("0 cells");
    expect(notebookView({ cells: [{ cell_type: "code", source: null, outputs: "x" }, { cell_type: "raw", source: ["a", "b"] }] }).querySelectorAll(".nbt-rp-nb-cell").length).toBe(2);
    expect(notebookView(null).textContent).toContain("0 cells");
  });

  it("formats durations", () => {
    expect([450, 1500, 125_000, 7_260_000].map(formatDuration)).toEqual(["450 ms", "1.5 s", "2 min 5 s", "2 h 1 min"]);
  });
});

describe("run descriptions in markdown", () => {
  it("renders a safe subset as nodes", () => {
    const el = markdown("# Title\nline one **bold**\nline two `code`\n\n- a\n- [b](https://x.org/)\n\n```\n<b>raw</b>\n```\n<img src=x onerror=alert(1)>");
    expect(el.querySelector("h3")!.textContent).toBe("Title");
    expect(el.querySelector("p")!.innerHTML).toBe("line one <strong>bold</strong><br>line two <code>code</code>");
    expect([...el.querySelectorAll("li")].map((li) => li.textContent)).toEqual(["a", "b"]);
    expect(el.querySelector("a")!.getAttribute("href")).toBe("https://x.org/");
    expect(el.querySelector("pre")!.textContent).toBe("<b>raw</b>");
    expect(el.querySelector("img")).toBeNull();
    expect(el.textContent).toContain("<img src=x onerror=alert(1)>");
  });

  it("keeps links to other schemes as text", () => {
    const el = markdown("[x](javascript:alert(1))");
    expect(el.querySelector("a")).toBeNull();
  });
});
