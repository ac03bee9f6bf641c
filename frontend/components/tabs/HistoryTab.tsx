"use client";

import { AnimatePresence } from "motion/react";
import { useEffect, useId, useState } from "react";

import { GenerationCard } from "@/components/audio/GenerationCard";
import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { button, card, field } from "@/components/ui/styles";
import { api } from "@/lib/api";
import { useAppStore } from "@/lib/store";
import { usePagedGenerations } from "@/lib/useList";
import { API_PARAMETERS } from "@/types/api.constants";
import { config } from "@/utils/config";

const SEARCH_MAX_LENGTH = API_PARAMETERS["GET /search"].q.maxLength;

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

export function HistoryTab() {
  const ids = useId();
  const pageSize = config.maxRecentTracks;
  const [query, setQuery] = useState("");
  const [favoritesOnly, setFavoritesOnly] = useState(false);
  const q = useDebounced(query.trim(), 300);

  // The service pages, searches and filters favourites; the list asks for the next page by offset.
  const favorite = favoritesOnly ? true : undefined;
  const list = usePagedGenerations(
    (offset, limit) => (q ? api.search(q, limit, { offset, favorite }) : api.recent(limit, { offset, favorite })),
    `${q}|${favoritesOnly}`,
    pageSize,
  );
  const generations = useAppStore((s) => s.generations);
  // A track unstarred here leaves the favourites at once (the next reload agrees).
  const shown = list.ids.filter((id) => generations[id] && (!favoritesOnly || generations[id].is_favorited));

  return (
    <section className={`${card} space-y-4`} aria-labelledby={`${ids}-title`}>
      <div className="flex flex-wrap items-end justify-between gap-3">
        <h2 id={`${ids}-title`} className="text-lg font-semibold">
          History
        </h2>
        <p className="text-xs text-slate-500 dark:text-slate-400" aria-live="polite" data-testid="history-summary">
          {list.error !== null && shown.length === 0
            ? ""
            : !list.settled
            ? "Loading…"
            : `${shown.length} of ${list.total} shown${q ? ` matching “${q}”` : ""}${favoritesOnly ? ", favourites only" : ""}`}
        </p>
      </div>
      <div className="flex flex-col gap-3 sm:flex-row sm:items-center">
        <div className="flex-1">
          <label htmlFor={`${ids}-search`} className="sr-only">
            Search prompts
          </label>
          <input
            id={`${ids}-search`}
            type="search"
            className={field}
            placeholder="Search prompts…"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            maxLength={SEARCH_MAX_LENGTH}
          />
        </div>
        <label className="inline-flex cursor-pointer items-center gap-2 text-sm">
          <input type="checkbox" className="size-4 accent-violet-600" checked={favoritesOnly} onChange={(e) => setFavoritesOnly(e.target.checked)} />
          Favourites only
        </label>
      </div>

      {list.error !== null && <ErrorMessage error={list.error} onRetry={list.reload} />}

      {shown.length === 0 && !list.loading && list.error === null ? (
        <p className="py-8 text-center text-sm text-slate-500 dark:text-slate-400">
          {q
            ? `No ${favoritesOnly ? "favourite" : "generation"}'s prompt contains “${q}”.`
            : favoritesOnly
              ? "No favourites yet: star a track to find it here."
              : "No generations yet: make one in the Generate tab."}
        </p>
      ) : (
        <ul className="space-y-2" data-testid="history-list">
          <AnimatePresence initial={false}>
            {shown.map((id) => (
              <GenerationCard key={id} id={id} />
            ))}
          </AnimatePresence>
        </ul>
      )}

      {shown.length > 0 && (
        <p className="text-xs text-slate-500 dark:text-slate-400">Only the browser that created a generation can cancel or delete it.</p>
      )}

      {list.hasMore && (
        <div className="flex justify-center">
          <button type="button" className={button.secondary} onClick={list.loadMore} disabled={list.loading}>
            {list.loading ? "Loading…" : `Load more (${list.total - list.ids.length} left)`}
          </button>
        </div>
      )}
    </section>
  );
}
