// Signing in to a server started with `--auth token`: a browser cannot send a bearer token by
// itself, so when the API answers 401 with `WWW-Authenticate: Bearer` the app asks for the token,
// checks it, keeps it in this tab's sessionStorage (gone when the tab closes) and sends it as
// `Authorization: Bearer` from then on. With `--auth basic` the browser's own prompt does all this
// (the server challenges on /), so nothing here runs.

import { Api } from "../api";
import { h } from "../views/common";

const TOKEN_KEY = "nbtrack.token";

export interface Auth {
  api: Api;
  /** set by the shell: draw the current page again (after signing in) */
  redraw: () => void;
}

/** The app's Api, sending the saved token, and asking for one when the server wants it. */
export function authenticatedApi(base: string): Auth {
  const headers: Record<string, string> = {};
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) headers.Authorization = `Bearer ${saved}`;
  let dialog: HTMLElement | null = null;
  const auth: Auth = {
    api: new Api({
      base,
      headers,
      fetch: async (url, init) => {
        const response = await fetch(url, init);
        if (response.status === 401 && /^bearer/i.test(response.headers.get("WWW-Authenticate") ?? "")) ask();
        return response;
      },
    }),
    redraw: () => {},
  };

  function ask(): void {
    if (dialog) return;
    const input = h("input", { type: "password", class: "nbt-app-token", autocomplete: "current-password", "aria-label": "Token", placeholder: "token" }) as HTMLInputElement;
    const error = h("div", { class: "nbt-app-login-error", role: "alert" });
    const form = h(
      "form",
      { class: "nbt-app-login" },
      h("div", { class: "nbt-app-empty-title" }, "This server needs a token"),
      h("p", {}, "Paste the token the server was started with (", h("code", {}, "NBTRACK_TOKEN"), " or a line of its ", h("code", {}, "--auth-file"), "). It is kept in this tab only."),
      h("div", { class: "nbt-app-toolbar" }, input, h("button", { type: "submit", class: "nbt-app-primary" }, "Sign in")),
      error,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void signIn(input.value.trim(), error);
    });
    dialog = h("div", { class: "nbt-app-login-backdrop", role: "dialog", "aria-modal": "true", "aria-label": "Sign in" }, form);
    (document.getElementById("nbt-app") ?? document.body).append(dialog); // inside: the app's styles apply
    input.focus();
  }

  async function signIn(token: string, error: HTMLElement): Promise<void> {
    if (!token) return;
    const response = await fetch(`${base.replace(/\/$/, "")}/2.0/mlflow/experiments/search?max_results=1`, { headers: { Authorization: `Bearer ${token}` } });
    if (response.status === 401) {
      error.textContent = "The server refused this token.";
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    headers.Authorization = `Bearer ${token}`;
    dialog?.remove();
    dialog = null;
    auth.redraw();
  }

  return auth;
}

/** "Sign out" in the header while a token is kept. */
export function signOutButton(): HTMLElement | null {
  if (!sessionStorage.getItem(TOKEN_KEY)) return null;
  return h(
    "button",
    {
      type: "button",
      class: "nbt-app-signout",
      onclick: () => {
        sessionStorage.removeItem(TOKEN_KEY);
        location.reload();
      },
    },
    "Sign out",
  );
}
