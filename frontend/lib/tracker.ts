// Follows active jobs through their server-sent events (GET /generations/{id}/events) and keeps the
// store up to date: `status` events carry the whole record, `progress` events phase, step, fraction and
// ETA, or, while the job waits, its new place in the queue.
import { api } from "@/lib/api";
import { useAppStore } from "@/lib/store";
import type { Generation, ProgressEvent } from "@/types";
import { isFinished } from "@/types";
import { debugLog } from "@/utils/config";

const sources = new Map<string, EventSource>();
const POLL_MS = 2000;

function finished(generation: Generation): void {
  const store = useAppStore.getState();
  stop(generation.generation_id);
  store.libraryChanged();
  // A job started here that succeeded goes into the player (it does not start playing by itself).
  if (generation.status === "succeeded" && store.myJobs[0] === generation.generation_id) {
    store.play(generation.generation_id, false);
  }
}

function onStatus(generation: Generation): void {
  useAppStore.getState().upsert(generation);
  if (isFinished(generation.status)) finished(generation);
}

function onProgress(event: ProgressEvent): void {
  const store = useAppStore.getState();
  if (typeof event.queue_position === "number") {
    // Still waiting: only its place in line moved.
    if (store.generations[event.generation_id]?.status === "queued") store.patch(event.generation_id, { queue_position: event.queue_position });
    return;
  }
  store.setProgress(event);
}

/** Poll the record while the event stream is down (EventSource gave up). */
async function pollUntilFinished(id: string): Promise<void> {
  while (!sources.has(id)) {
    try {
      const generation = await api.generation(id);
      onStatus(generation);
      if (isFinished(generation.status)) return;
    } catch (error) {
      debugLog("poll failed", id, error);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (!useAppStore.getState().generations[id]) return;
  }
}

export function track(id: string): void {
  if (sources.has(id) || typeof EventSource === "undefined") return;
  const source = new EventSource(api.eventsUrl(id));
  sources.set(id, source);
  source.addEventListener("status", (event) => {
    onStatus(JSON.parse((event as MessageEvent<string>).data) as Generation);
  });
  source.addEventListener("progress", (event) => {
    onProgress(JSON.parse((event as MessageEvent<string>).data) as ProgressEvent);
  });
  source.onerror = () => {
    // The browser reconnects by itself unless the stream is closed for good.
    if (source.readyState === EventSource.CLOSED) {
      sources.delete(id);
      void pollUntilFinished(id);
    }
  };
}

export function stop(id: string): void {
  sources.get(id)?.close();
  sources.delete(id);
}

export function isTracked(id: string): boolean {
  return sources.has(id);
}

/** Track every active generation in a list. */
export function trackActive(items: Generation[]): void {
  for (const item of items) if (!isFinished(item.status)) track(item.generation_id);
}
