// Follows active jobs through their server-sent events (GET /generations/{id}/events) and keeps the
// store up to date: `status` events carry the whole record, `progress` events phase, step, fraction and
// ETA, or, while the job waits, its new place in the queue. A browser opens at most six HTTP/1.1
// connections to the service, and each stream holds one for as long as its job runs: beyond MAX_STREAMS
// (the variations of a batch, several jobs in a list) a job's record is polled instead, so that a
// cancel, a download or the player's audio never waits behind the streams.
import { api } from "@/lib/api";
import { useAppStore } from "@/lib/store";
import type { Generation, ProgressEvent } from "@/types";
import { isFinished } from "@/types";
import { debugLog } from "@/utils/config";

const sources = new Map<string, EventSource>();
/** Jobs followed by polling their record (more were active than MAX_STREAMS). */
const polled = new Set<string>();
const POLL_MS = 2000;
/** Event streams open at once, at most (leaving connections for requests, a live stream and the player). */
export const MAX_STREAMS = 3;

/** Jobs that end together (the variations of a batch) make the lists reload once, not once each. */
const RELOAD_COALESCE_MS = 300;
let reloadTimer: ReturnType<typeof setTimeout> | null = null;
function libraryChangedSoon(): void {
  if (reloadTimer !== null) return;
  reloadTimer = setTimeout(() => {
    reloadTimer = null;
    useAppStore.getState().libraryChanged();
  }, RELOAD_COALESCE_MS);
}

function finished(generation: Generation): void {
  const store = useAppStore.getState();
  stop(generation.generation_id);
  libraryChangedSoon();
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

/** Poll a job's record until it finishes (or is stopped, or forgotten). */
async function pollRecord(id: string): Promise<void> {
  polled.add(id);
  while (polled.has(id)) {
    try {
      const generation = await api.generation(id);
      if (!polled.has(id)) return;
      onStatus(generation);
      if (isFinished(generation.status)) break;
    } catch (error) {
      debugLog("poll failed", id, error);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (!useAppStore.getState().generations[id]) break;
  }
  polled.delete(id);
}

export function track(id: string): void {
  if (sources.has(id) || polled.has(id) || typeof EventSource === "undefined") return;
  if (sources.size >= MAX_STREAMS) {
    void pollRecord(id);
    return;
  }
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
  polled.delete(id);
}

export function isTracked(id: string): boolean {
  return sources.has(id) || polled.has(id);
}

/** Whether a job is followed by polling its record (not by its event stream). */
export const isPolled = (id: string): boolean => polled.has(id);

/** Stop following everything (tests). */
export function stopAll(): void {
  for (const id of [...sources.keys(), ...polled]) stop(id);
}

/** Track every active generation in a list. */
export function trackActive(items: Generation[]): void {
  for (const item of items) if (!isFinished(item.status)) track(item.generation_id);
}
