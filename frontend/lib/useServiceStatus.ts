"use client";
// Keeps the service's health and model status in the store: often while the model loads, rarely after.
import { useEffect } from "react";

import { ApiError, api, errorMessage } from "@/lib/api";
import { useAppStore } from "@/lib/store";

const LOADING_MS = 4000;
const READY_MS = 30000;
const DOWN_MS = 5000;

/**
 * What a failed health check means: the service unreachable (its message, to show), or throttled by the
 * rate limit (other tabs or users behind this address): then it answers, so nothing is shown (null) and
 * the next check waits for the limit.
 */
export function healthFailure(error: unknown): { message: string | null; delay: number } {
  if (error instanceof ApiError && error.status === 429) {
    return { message: null, delay: Math.max(DOWN_MS, ((error.retryAfter ?? 60) + 1) * 1000) };
  }
  return { message: errorMessage(error), delay: DOWN_MS };
}

export function useServiceStatus(): void {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let lastModelKey = "";

    const tick = async () => {
      const store = useAppStore.getState();
      let delay = READY_MS;
      try {
        const health = await api.health();
        store.setHealth(health, null);
        const model = health.model as { status?: string; model?: string; device?: string; precision?: string };
        const key = `${model.status}|${model.model}|${model.device}|${model.precision}`;
        if (key !== lastModelKey && model.status !== "loading") {
          lastModelKey = key;
          try {
            store.setModelStatus(await api.modelStatus());
          } catch {
            // /model/status is rate limited harder than /health; its details can wait for the next change.
            lastModelKey = "";
          }
        }
        delay = model.status === "ready" ? READY_MS : LOADING_MS;
      } catch (error) {
        const failure = healthFailure(error);
        if (failure.message !== null) store.setHealth(store.health, failure.message);
        delay = failure.delay;
      }
      if (!stopped) timer = setTimeout(tick, delay);
    };

    void tick();
    const onFocus = () => {
      if (timer) clearTimeout(timer);
      void tick();
    };
    window.addEventListener("online", onFocus);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      window.removeEventListener("online", onFocus);
    };
  }, []);
}
