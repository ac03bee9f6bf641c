"use client";
// The variations of the last request made from this page, side by side (two columns on a wide screen,
// stacked on a phone): each with its own progress, seed, cancel, play and download. A request of a
// single track shows nothing here (its job card in the latest generations is all there is, as before).
import { motion } from "motion/react";
import { useEffect, useId, useRef, useState } from "react";

import { JobOutcome, JobProgress } from "@/components/audio/JobStatus";
import { FavoriteButton } from "@/components/audio/FavoriteButton";
import { NowPlaying, PlayToggle, usePlayerState } from "@/components/audio/PlayToggle";
import { Downloader } from "@/components/audio/Player";
import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { StatusBadge } from "@/components/ui/StatusBadge";
import { button, card } from "@/components/ui/styles";
import { removeGeneration } from "@/lib/actions";
import { api } from "@/lib/api";
import { batchSummary, variationLabel } from "@/lib/batch";
import { shortPrompt } from "@/lib/extend";
import { formatSeconds } from "@/lib/format";
import { useAppStore } from "@/lib/store";
import { useTokens } from "@/lib/tokens";
import { useRemoval } from "@/lib/useRemoval";
import type { Generation } from "@/types";
import { isActive } from "@/types";

/** Bars of the small waveform on each variation (the service's peaks; none while it cannot say). */
const PREVIEW_BARS = 64;

/** A small, still picture of a finished variation's waveform, so that takes can be told apart at a glance. */
function WaveformPreview({ id, current }: { id: string; current: boolean }) {
  const [bars, setBars] = useState<number[] | null>(null);
  useEffect(() => {
    const aborter = new AbortController();
    api
      .peaks(id, PREVIEW_BARS, aborter.signal)
      .then((peaks) => setBars(peaks.max.map((top, i) => Math.min(1, Math.max(Math.abs(top), Math.abs(peaks.min[i] ?? 0))))))
      .catch(() => setBars(null));
    return () => aborter.abort();
  }, [id]);
  if (!bars || bars.length === 0) return null;
  const loudest = Math.max(...bars) || 1;
  return (
    <svg viewBox={`0 0 ${bars.length * 3} 40`} preserveAspectRatio="none" className="h-10 w-full" aria-hidden data-testid="variation-waveform">
      {bars.map((value, i) => {
        const height = Math.max(2, (value / loudest) * 38);
        return (
          <rect
            key={i}
            x={i * 3}
            y={20 - height / 2}
            width={2}
            height={height}
            rx={1}
            className={current ? "fill-violet-500" : "fill-slate-400 dark:fill-slate-500"}
          />
        );
      })}
    </svg>
  );
}

function VariationCard({ id, index, count }: { id: string; index: number; count: number }) {
  const generation = useAppStore((s) => s.generations[id]);
  if (!generation) return null;
  return <Variation generation={generation} index={index} count={count} />;
}

function Variation({ generation, index, count }: { generation: Generation; index: number; count: number }) {
  const id = generation.generation_id;
  const name = variationLabel(index);
  const { current } = usePlayerState(id);
  const removal = useRemoval(generation);
  const succeeded = generation.status === "succeeded";
  const seconds = succeeded ? generation.duration : generation.duration_requested;

  return (
    <motion.li
      layout="position"
      initial={{ opacity: 0, y: 8 }}
      animate={{ opacity: 1, y: 0 }}
      data-testid="variation"
      data-generation-id={id}
      data-status={generation.status}
      data-index={index}
      aria-label={`${name} of ${count}`}
      aria-current={current ? "true" : undefined}
      className={`flex min-w-0 flex-col gap-3 rounded-xl border p-4 ${current ? "border-violet-400 bg-violet-50/60 dark:border-violet-700 dark:bg-violet-950/30" : "border-slate-200 bg-slate-50 dark:border-slate-800 dark:bg-slate-950/50"}`}
    >
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <h3 className="text-sm font-semibold" data-testid="variation-title">
            {name}
          </h3>
          <p className="text-xs text-slate-500 tabular-nums dark:text-slate-400">
            <span data-testid="variation-seed">seed {generation.seed === null ? "–" : generation.seed}</span> · {formatSeconds(seconds)}
          </p>
        </div>
        <div className="flex shrink-0 flex-wrap items-center gap-2">
          <NowPlaying id={id} />
          <StatusBadge status={generation.status} />
        </div>
      </div>
      <JobProgress generation={generation} />
      <JobOutcome generation={generation} />
      {succeeded && <WaveformPreview id={id} current={current} />}
      <div className="mt-auto flex flex-wrap items-center gap-2">
        {succeeded && (
          <>
            <PlayToggle id={id} prompt={name} withText />
            <Downloader id={id} name={name} />
            <FavoriteButton id={id} />
          </>
        )}
        {removal.allowed && (
          <button type="button" className={button.danger} onClick={removal.run} disabled={removal.busy} aria-label={`${removal.verb} ${name}`}>
            {removal.busy ? (removal.verb === "Cancel" ? "Canceling…" : "Deleting…") : removal.verb}
          </button>
        )}
      </div>
      {removal.error !== null && <ErrorMessage error={removal.error} title={`Could not ${removal.verb.toLowerCase()} it`} />}
    </motion.li>
  );
}

/** Cancel every variation still queued or running (one question for all). */
function CancelAll({ records }: { records: Generation[] }) {
  const tokens = useTokens((s) => s.tokens);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const active = records.filter((record) => isActive(record.status) && record.generation_id in tokens);
  if (active.length < 2) return null;
  const run = async () => {
    if (!window.confirm(`Cancel all ${active.length} variations still generating?`)) return;
    setBusy(true);
    setError(null);
    const outcomes = await Promise.allSettled(active.map((record) => removeGeneration(record)));
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
    if (failed) setError(failed.reason);
    setBusy(false);
  };
  return (
    <>
      <button type="button" className={button.danger} onClick={run} disabled={busy}>
        {busy ? "Canceling…" : "Cancel all"}
      </button>
      {error !== null && (
        <div className="basis-full">
          <ErrorMessage error={error} title="Could not cancel them all" />
        </div>
      )}
    </>
  );
}

export function BatchView({ className = "" }: { className?: string }) {
  const ids = useId();
  const batchId = useAppStore((s) => s.latestBatch);
  const members = useAppStore((s) => (s.latestBatch ? s.batches[s.latestBatch] : undefined));
  const generations = useAppStore((s) => s.generations);
  const records = (members ?? []).map((id) => generations[id]).filter((record): record is Generation => !!record);
  const shown = batchId !== null && records.length > 0;
  const section = useRef<HTMLElement>(null);
  const revealed = useRef<string | null>(null);
  useEffect(() => {
    // A new request's variations open below the form, often below the fold: bring them into view once.
    if (!shown || revealed.current === batchId) return;
    revealed.current = batchId;
    const still = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ?? false;
    section.current?.scrollIntoView?.({ behavior: still ? "auto" : "smooth", block: "nearest" });
  }, [shown, batchId]);
  if (!shown || !members) return null;

  return (
    <section
      ref={section}
      className={`${card} space-y-4 ${className}`}
      // Scrolled to above the player bar, not under it.
      style={{ scrollMarginBottom: "calc(var(--player-h, 0px) + 1rem)" }}
      aria-labelledby={`${ids}-title`}
      data-testid="batch-view"
      data-batch-id={batchId}
    >
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <h2 id={`${ids}-title`} className="text-lg font-semibold">
            {members.length} variations
          </h2>
          <p className="text-sm break-words text-slate-600 dark:text-slate-300" title={records[0].prompt}>
            “{shortPrompt(records[0].prompt, 120)}”
          </p>
          <p className="text-xs text-slate-500 dark:text-slate-400" aria-live="polite" data-testid="batch-summary">
            {batchSummary(records.map((record) => record.status))}
          </p>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <CancelAll records={records} />
          <button type="button" className={button.ghost} onClick={() => useAppStore.getState().closeBatch()} aria-label="Close the variations">
            ✕
          </button>
        </div>
      </div>
      <ul className="grid grid-cols-1 gap-3 md:grid-cols-2" data-testid="variation-grid">
        {members.map((id, i) => (
          <VariationCard key={id} id={id} index={i + 1} count={members.length} />
        ))}
      </ul>
    </section>
  );
}
