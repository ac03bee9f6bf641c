// Test helpers: a fake service (fetch by method and path) and generation records.
import { vi } from "vitest";

import { forgetLookUps } from "@/lib/actions";
import { INITIAL_SESSION, useAppStore } from "@/lib/store";
import { useTokens } from "@/lib/tokens";
import { stopAll } from "@/lib/tracker";
import type { Generation } from "@/types";

export function generation(fields: Partial<Generation> = {}): Generation {
  const id = fields.generation_id ?? "g1";
  return {
    id: 1,
    generation_id: id,
    prompt: "lo-fi piano",
    negative_prompt: null,
    status: "succeeded",
    duration: 5,
    duration_requested: 5,
    device: "cpu",
    precision: "float32",
    model: "tiny-random",
    backend: "reference",
    top_k: 250,
    top_p: 0,
    temperature: 1,
    cfg_coef: 3,
    seed: 7,
    sample_rate: 32000,
    file_size_mb: 0.3,
    generation_time: 2,
    realtime_factor: 2.5,
    windows: 1,
    parent_id: null,
    prompt_seconds: null,
    audio_url: `/generations/${id}/audio`,
    download_url: `/download/${id}`,
    events_url: `/generations/${id}/events`,
    stream_url: `/generations/${id}/stream`,
    play_count: 0,
    download_count: 0,
    is_favorited: false,
    last_played: null,
    created_at: "2026-01-02T03:04:05Z",
    updated_at: null,
    started_at: null,
    finished_at: null,
    worker: null,
    progress: { phase: "finished", step: 250, total_steps: 250, fraction: 1, eta_s: null },
    error_type: null,
    error_message: null,
    user_id: null,
    queue_position: null,
    batch_id: null,
    ...fields,
  };
}

/** A record as the service answers it before the job succeeded: its audio's figures are unknown (null). */
export function unfinished(fields: Partial<Generation> = {}): Generation {
  return generation({
    status: "queued",
    sample_rate: null,
    file_size_mb: null,
    generation_time: null,
    realtime_factor: null,
    windows: null,
    audio_url: null,
    download_url: null,
    progress: { phase: "queued", step: 0, total_steps: 0, fraction: 0, eta_s: null },
    ...fields,
  });
}

/** One page of `items` as the service answers /recent and /search: offset, limit, favorite and q applied. */
export function page(items: Generation[], url: URL): Response {
  const q = url.searchParams.get("q")?.toLowerCase();
  const favorite = url.searchParams.get("favorite");
  const offset = Number(url.searchParams.get("offset") ?? 0);
  const limit = Number(url.searchParams.get("limit") ?? 20);
  const matching = items.filter(
    (item) => (!q || item.prompt.toLowerCase().includes(q)) && (favorite === null || String(item.is_favorited) === favorite),
  );
  const slice = matching.slice(offset, offset + limit);
  return json({ items: slice, count: slice.length, total: matching.length, offset, limit });
}

type Handler = (request: { method: string; url: URL; body: unknown }) => Response | Promise<Response>;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

/** Replace fetch with routes like "GET /recent"; unknown routes answer the service's JSON 404. */
export function fakeService(routes: Record<string, Handler>) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  const mock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), "http://127.0.0.1:8000");
    const method = (init.method ?? "GET").toUpperCase();
    // A JSON body parsed; a form (an upload) as the FormData the page built.
    const body = typeof init.body === "string" ? JSON.parse(init.body) : init.body instanceof FormData ? init.body : undefined;
    calls.push({ method, path: url.pathname + url.search, body });
    const handler = routes[`${method} ${url.pathname}`];
    if (!handler) return json({ error_type: "not_found", message: `nothing at ${method} ${url.pathname}`, status_code: 404 }, 404);
    return handler({ method, url, body });
  });
  vi.stubGlobal("fetch", mock);
  return { calls, mock };
}

/** An EventSource that tests drive by hand. */
export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  static readonly CLOSED = 2;
  readonly url: string;
  readyState = 1;
  onerror: (() => void) | null = null;
  private listeners = new Map<string, ((event: MessageEvent) => void)[]>();

  constructor(url: string) {
    this.url = url;
    FakeEventSource.instances.push(this);
  }
  addEventListener(type: string, listener: (event: MessageEvent) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  emit(type: string, data: unknown) {
    for (const listener of this.listeners.get(type) ?? []) listener(new MessageEvent(type, { data: JSON.stringify(data) }));
  }
  close() {
    this.readyState = 2;
  }
}

export function resetStore() {
  stopAll(); // no job followed by an earlier test
  useAppStore.setState(INITIAL_SESSION);
  useTokens.setState({ tokens: {} });
  localStorage.clear();
  forgetLookUps();
}

/** This browser created these generations: it holds their tokens. */
export function ownTokens(tokens: Record<string, string>) {
  useTokens.setState({ tokens });
}
