"use client";

import { AnimatePresence, motion } from "motion/react";
import type { ReactNode } from "react";

import { isRandomModel } from "@/lib/format";
import { useAppStore } from "@/lib/store";

interface BannerContent {
  tone: "info" | "warn" | "error";
  title: string;
  body: ReactNode;
}

/** What the banner says for the service's state; null when all is well. */
export function bannerFor(
  health: ReturnType<typeof useAppStore.getState>["health"],
  healthError: string | null,
): BannerContent | null {
  if (healthError) return { tone: "error", title: "The service cannot be reached", body: healthError };
  if (!health) return null;
  const model = health.model as { status?: string; model?: string; error?: string | null };
  const database = health.database as { ok?: boolean; error?: string };
  if (database && database.ok === false) {
    return { tone: "error", title: "The database is not answering", body: database.error ?? "Generations cannot be saved right now." };
  }
  // Scale-out (QUEUE=saq): no worker process is up, so nothing runs the queue (the model "loads" forever).
  if (Array.isArray(health.workers) && health.workers.length === 0) {
    return {
      tone: "warn",
      title: "No generation worker is running",
      body: (
        <>
          Jobs wait until one starts (<code className="font-mono">musicgenie worker</code>).
        </>
      ),
    };
  }
  if (model.status === "loading") {
    return {
      tone: "info",
      title: `Loading the model ${model.model ?? ""}…`,
      body: "Generations you start now wait in the queue and begin as soon as it is ready.",
    };
  }
  if (model.status === "error") {
    return {
      tone: "error",
      title: `The model ${model.model ?? ""} is unavailable`,
      body: model.error ?? "The service could not load it; see the service log.",
    };
  }
  const queue = health.queue as { accepting?: boolean };
  if (queue && queue.accepting === false) {
    return { tone: "warn", title: "The service is shutting down", body: "New generations are not accepted right now." };
  }
  return null;
}

const TONES = {
  info: "border-sky-200 bg-sky-50 text-sky-900 dark:border-sky-900 dark:bg-sky-950/60 dark:text-sky-100",
  warn: "border-amber-200 bg-amber-50 text-amber-900 dark:border-amber-900 dark:bg-amber-950/60 dark:text-amber-100",
  error: "border-rose-200 bg-rose-50 text-rose-900 dark:border-rose-900 dark:bg-rose-950/60 dark:text-rose-100",
};

export function StatusBanner() {
  const health = useAppStore((s) => s.health);
  const healthError = useAppStore((s) => s.healthError);
  const content = bannerFor(health, healthError);
  return (
    <AnimatePresence>
      {content && (
        <motion.div
          key={content.title}
          initial={{ opacity: 0, y: -8 }}
          animate={{ opacity: 1, y: 0 }}
          exit={{ opacity: 0, y: -8 }}
          role={content.tone === "error" ? "alert" : "status"}
          data-testid="status-banner"
          className={`mb-4 flex items-start gap-3 rounded-xl border px-4 py-3 text-sm ${TONES[content.tone]}`}
        >
          {content.tone === "info" ? (
            <span className="mt-0.5 size-4 shrink-0 animate-spin rounded-full border-2 border-current border-t-transparent" aria-hidden />
          ) : (
            <span aria-hidden className="mt-px font-bold">!</span>
          )}
          <div>
            <p className="font-semibold">{content.title}</p>
            <p className="break-words opacity-90">{content.body}</p>
          </div>
        </motion.div>
      )}
    </AnimatePresence>
  );
}

/** A mark in the header: the model in use, and a warning when its weights are random. */
export function ModelBadge() {
  const health = useAppStore((s) => s.health);
  const status = useAppStore((s) => s.modelStatus);
  const name = status?.model ?? ((health?.model as { model?: string } | undefined)?.model ?? null);
  if (!name) return null;
  const random = isRandomModel(name, status?.info ?? null);
  return (
    <div className="flex flex-wrap items-center gap-2 text-xs">
      <span className="rounded-full bg-slate-200 px-2.5 py-1 font-medium text-slate-700 dark:bg-slate-800 dark:text-slate-200" title="Model in use">
        {name}
      </span>
      {random && (
        <span
          data-testid="noise-warning"
          className="rounded-full bg-amber-100 px-2.5 py-1 font-semibold text-amber-900 dark:bg-amber-900/60 dark:text-amber-100"
          title="This model has random weights: it is for tests and demos"
        >
          Random weights: output is noise
        </span>
      )}
    </div>
  );
}
