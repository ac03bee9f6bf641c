"use client";

import { motion } from "motion/react";
import { useState } from "react";

import { BatchBadge } from "@/components/audio/BatchBadge";
import { ContinuationNote, ExtendForm, ExtendToggle } from "@/components/audio/Extend";
import { FavoriteButton } from "@/components/audio/FavoriteButton";
import { JobOutcome, JobProgress } from "@/components/audio/JobStatus";
import { NowPlaying, PlayToggle, usePlayerState } from "@/components/audio/PlayToggle";
import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { StatusBadge } from "@/components/ui/StatusBadge";
import { button } from "@/components/ui/styles";
import { RanOn } from "@/components/ui/Workers";
import { formatDate, formatSeconds } from "@/lib/format";
import { useAppStore } from "@/lib/store";
import { useRemoval } from "@/lib/useRemoval";
import type { Generation } from "@/types";
import { isActive } from "@/types";

interface Props {
  id: string;
  /** Shown before the prompt (Popular's ranking). */
  rank?: number;
}

function Facts({ generation }: { generation: Generation }) {
  const seconds = generation.status === "succeeded" ? generation.duration : generation.duration_requested;
  return (
    <p className="flex flex-wrap gap-x-2 text-xs text-slate-500 dark:text-slate-400">
      <span>{formatDate(generation.created_at)}</span>
      <span>· {formatSeconds(seconds)}</span>
      <span>
        · {generation.device}/{generation.precision}
        <RanOn generation={generation} />
      </span>
      <span data-testid="play-count">
        · {generation.play_count} {generation.play_count === 1 ? "play" : "plays"}
      </span>
      <BatchBadge generation={generation} />
    </p>
  );
}

/**
 * One generation in a list: play, the prompt (wrapping, never cut to a few letters), facts, live
 * progress, and its actions, which take a line of their own on a phone.
 */
export function GenerationCard({ id, rank }: Props) {
  const generation = useAppStore((s) => s.generations[id]);
  if (!generation) return null;
  return <Card generation={generation} rank={rank} />;
}

function Card({ generation, rank }: { generation: Generation; rank?: number }) {
  const id = generation.generation_id;
  const { current } = usePlayerState(id);
  const removal = useRemoval(generation);
  const [extending, setExtending] = useState(false);
  const succeeded = generation.status === "succeeded";

  return (
    <motion.li
      layout="position"
      initial={{ opacity: 0 }}
      animate={{ opacity: 1 }}
      exit={{ opacity: 0 }}
      data-testid="generation-card"
      data-generation-id={id}
      aria-current={current ? "true" : undefined}
      className={`rounded-xl border p-3 sm:p-4 ${current ? "border-violet-400 bg-violet-50/60 dark:border-violet-700 dark:bg-violet-950/30" : "border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900"}`}
    >
      <div className="flex flex-col gap-2 sm:flex-row sm:items-center sm:gap-3">
        <div className="flex min-w-0 flex-1 items-start gap-3 sm:items-center">
          {rank !== undefined && <span className="w-7 shrink-0 pt-2 text-center text-lg font-bold text-slate-400 sm:pt-0">{rank}</span>}
          {generation.status === "succeeded" ? (
            <PlayToggle id={id} prompt={generation.prompt} />
          ) : (
            <span className="grid size-10 shrink-0 place-items-center rounded-full bg-slate-200 text-slate-500 dark:bg-slate-800" aria-hidden>
              ♪
            </span>
          )}
          <div className="min-w-0 flex-1">
            <p className="line-clamp-3 font-medium break-words" title={generation.prompt} data-testid="generation-title">
              {generation.prompt}
            </p>
            <Facts generation={generation} />
            <ContinuationNote generation={generation} />
          </div>
        </div>
        <div className="flex flex-wrap items-center gap-1 sm:shrink-0 sm:justify-end" data-testid="generation-actions">
          <NowPlaying id={id} />
          <StatusBadge status={generation.status} />
          {succeeded && <FavoriteButton id={id} />}
          {succeeded && <ExtendToggle generation={generation} open={extending} onToggle={() => setExtending((open) => !open)} />}
          {removal.allowed && (
            <button type="button" className={button.danger} onClick={removal.run} disabled={removal.busy} aria-label={`${removal.verb} ${generation.prompt}`}>
              {removal.verb}
            </button>
          )}
        </div>
      </div>
      {succeeded && extending && (
        <div className="mt-3">
          <ExtendForm generation={generation} onClose={() => setExtending(false)} />
        </div>
      )}
      {isActive(generation.status) && (
        <div className="mt-3">
          <JobProgress generation={generation} />
        </div>
      )}
      {generation.error_message && (
        <div className="mt-2">
          <JobOutcome generation={generation} announce={false} />
        </div>
      )}
      {removal.error !== null && (
        <div className="mt-2">
          <ErrorMessage error={removal.error} title={`Could not ${removal.verb.toLowerCase()} it`} />
        </div>
      )}
    </motion.li>
  );
}
