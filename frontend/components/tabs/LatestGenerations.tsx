"use client";
// The Generate tab's list: the service's newest generations (GET /recent, whoever made them), with the
// jobs started on this page in front until the service lists them.
import { AnimatePresence } from "motion/react";
import { useId } from "react";

import { JobCard } from "@/components/audio/JobCard";
import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { button, card } from "@/components/ui/styles";
import { api } from "@/lib/api";
import { useAppStore } from "@/lib/store";
import { newestFirst, useGenerationList } from "@/lib/useList";

export const LATEST_COUNT = 6;

export function LatestGenerations({ className = "" }: { className?: string }) {
  const ids = useId();
  const myJobs = useAppStore((s) => s.myJobs);
  const generations = useAppStore((s) => s.generations);
  const list = useGenerationList(() => api.recent(LATEST_COUNT), "latest");
  const shown = newestFirst([...myJobs, ...list.ids], generations).slice(0, LATEST_COUNT);

  return (
    <section className={`${card} space-y-4 ${className}`} aria-labelledby={`${ids}-title`}>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id={`${ids}-title`} className="text-lg font-semibold">
          Latest generations
        </h2>
        <button type="button" className={button.ghost} onClick={() => useAppStore.getState().setTab("history")}>
          All in History →
        </button>
      </div>
      {list.error !== null && <ErrorMessage error={list.error} onRetry={list.reload} />}
      {shown.length === 0 ? (
        list.error === null && (
          <p className="text-sm text-slate-500 dark:text-slate-400">
            {list.loading ? "Loading…" : "Nothing yet. Pick an example or write a prompt, then press Generate: progress shows here and the result opens in the player."}
          </p>
        )
      ) : (
        <ul className="space-y-3" aria-live="polite" data-testid="latest-list">
          <AnimatePresence initial={false}>
            {shown.map((id) => (
              <JobCard key={id} id={id} />
            ))}
          </AnimatePresence>
        </ul>
      )}
    </section>
  );
}
