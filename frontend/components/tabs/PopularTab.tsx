"use client";

import { useId } from "react";

import { GenerationCard } from "@/components/audio/GenerationCard";
import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { card } from "@/components/ui/styles";
import { api } from "@/lib/api";
import { useGenerationList } from "@/lib/useList";
import { config } from "@/utils/config";

export function PopularTab() {
  const ids = useId();
  const list = useGenerationList(() => api.mostPlayed(config.maxRecentTracks), "popular");
  return (
    <section className={`${card} space-y-4`} aria-labelledby={`${ids}-title`}>
      <div className="flex items-baseline justify-between">
        <h2 id={`${ids}-title`} className="text-lg font-semibold">
          Most played
        </h2>
        <p className="text-xs text-slate-500 dark:text-slate-400">A play counts after 5 s (or half a short track) of listening.</p>
      </div>
      {list.error !== null && <ErrorMessage error={list.error} onRetry={list.reload} />}
      {list.ids.length === 0 && !list.loading && list.error === null ? (
        <p className="py-8 text-center text-sm text-slate-500 dark:text-slate-400">Nothing played yet.</p>
      ) : (
        <ol className="space-y-2" data-testid="popular-list">
          {list.ids.map((id, index) => (
            <GenerationCard key={id} id={id} rank={index + 1} />
          ))}
        </ol>
      )}
    </section>
  );
}
