// A small, safe subset of Markdown for run descriptions, built as DOM nodes (never innerHTML, so a
// note cannot inject markup): headings, paragraphs (line breaks kept, as notes are often typed
// line by line), - and 1. lists, ``` code blocks, `code`, **bold**, *italic* and http(s) links.

import { h } from "../../views/common";

const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(\*[^*\n]+\*|_[^_\n]+_)|(\[[^\]\n]+\]\([^)\s]+\))|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;

export function inline(text: string): (Node | string)[] {
  const out: (Node | string)[] = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    const at = m.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    const t = m[0];
    if (m[1]) out.push(h("code", {}, t.slice(1, -1)));
    else if (m[2]) out.push(h("strong", {}, t.slice(2, -2)));
    else if (m[3]) out.push(h("em", {}, t.slice(1, -1)));
    else {
      const [label, href] = m[4] ? [t.slice(1, t.indexOf("](")), t.slice(t.indexOf("](") + 2, -1)] : [t, t];
      out.push(/^(https?:|mailto:|#)/i.test(href) ? h("a", { href, target: href.startsWith("#") ? null : "_blank", rel: "noopener noreferrer" }, label) : t);
    }
    last = at + t.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function lines(ls: string[]): (Node | string)[] {
  return ls.flatMap((l, i) => (i ? [h("br"), ...inline(l)] : inline(l)));
}

export function markdown(text: string, cls = ""): HTMLElement {
  const root = h("div", { class: `nbt-rp-md ${cls}` });
  const ls = text.replace(/\r\n?/g, "\n").split("\n");
  const special = (l: string): boolean => /^```/.test(l) || /^#{1,4}\s/.test(l) || /^\s*([-*+]|\d+[.)])\s+/.test(l);
  let i = 0;
  while (i < ls.length) {
    const l = ls[i];
    if (/^```/.test(l)) {
      const code: string[] = [];
      for (i++; i < ls.length && !/^```/.test(ls[i]); i++) code.push(ls[i]);
      i++;
      root.append(h("pre", { class: "nbt-rp-code" }, h("code", {}, code.join("\n"))));
      continue;
    }
    const heading = /^(#{1,4})\s+(.*)$/.exec(l);
    if (heading) {
      root.append(h(`h${heading[1].length + 2}` as "h3", { class: "nbt-rp-md-h" }, ...inline(heading[2])));
      i++;
      continue;
    }
    const list = /^\s*([-*+]|\d+[.)])\s+/.exec(l);
    if (list) {
      const ordered = /\d/.test(list[1]);
      const el = h(ordered ? "ol" : "ul", {});
      for (; i < ls.length; i++) {
        const item = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(ls[i]);
        if (!item || /\d/.test(item[1]) !== ordered) break;
        el.append(h("li", {}, ...inline(item[2])));
      }
      root.append(el);
      continue;
    }
    if (!l.trim()) {
      i++;
      continue;
    }
    const para: string[] = [];
    for (; i < ls.length && ls[i].trim() && !special(ls[i]); i++) para.push(ls[i]);
    root.append(h("p", {}, ...lines(para)));
  }
  return root;
}
