// One client of the REST API that both the Jupyter server extension (nbtrack.jupyter, at
// <base>/nbtrack/api/) and nbtrack server (at <server>/api/) serve: MLflow's endpoints under
// 2.0/mlflow/ and nbtrack's read endpoints (runs pages, downsampled history...) under 2.0/nbtrack/.

import { WireFrame } from "./wire";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string,
  ) {
    super(message);
  }
}

/** MLflow's registry updates are PATCH and its deletes of tags and aliases DELETE, with JSON bodies. */
export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

export interface ApiOptions {
  /** e.g. "/lab-base/nbtrack/api" in JupyterLab, "/api" for nbtrack server */
  base: string;
  /** the tracking URI to read (the Jupyter server extension opens it); "" = the server's own */
  store?: string;
  /** extra headers: Jupyter's XSRF token or authorization */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

export class Api {
  constructor(readonly options: ApiOptions) {}

  private headers(): Record<string, string> {
    const h: Record<string, string> = { "Content-Type": "application/json", ...(this.options.headers ?? {}) };
    if (this.options.store) h["X-Nbtrack-Store"] = this.options.store;
    return h;
  }

  async request<T = unknown>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
    const f = this.options.fetch ?? fetch;
    let url = `${this.options.base.replace(/\/$/, "")}/${path}`;
    const init: RequestInit = { method, headers: this.headers(), credentials: "same-origin" };
    if (method === "GET" && body && typeof body === "object") {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
        if (v === undefined || v === null) continue;
        for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
      }
      url += (url.includes("?") ? "&" : "?") + q.toString();
    } else if (method !== "GET") {
      init.body = JSON.stringify(body ?? {});
    }
    const response = await f(url, init);
    const text = await response.text();
    let payload: any = {};
    try {
      payload = text ? JSON.parse(text) : {};
    } catch {
      throw new ApiError(`${path}: the server answered ${response.status} with a body that is not JSON`, response.status, "INTERNAL_ERROR");
    }
    if (!response.ok) {
      throw new ApiError(payload.message ?? `${path}: HTTP ${response.status}`, response.status, payload.error_code ?? "INTERNAL_ERROR");
    }
    return payload as T;
  }

  /** One of nbtrack's view operations (POST 2.0/nbtrack/views/<op>). */
  async view<T = { frame: WireFrame }>(op: string, body: Record<string, unknown>): Promise<T> {
    return this.request<T>("POST", `2.0/nbtrack/views/${op}`, body);
  }

  /** One of MLflow's endpoints (2.0/mlflow/<path>). */
  async mlflow<T = any>(method: HttpMethod, path: string, body?: Record<string, unknown>): Promise<T> {
    return this.request<T>(method, `2.0/mlflow/${path}`, body);
  }
}
