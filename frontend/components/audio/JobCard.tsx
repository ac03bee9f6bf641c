"use client";

import { motion } from "motion/react";

import { BatchBadge } from "@/components/audio/BatchBadge";
import { ContinuationNote } from "@/components/audio/Extend";
import { JobOutcome, JobProgress } from "@/components/audio/JobStatus";
import { LiveListen } from "@/components/audio/LiveListen";
import { NowPlaying, PlayToggle } from "@/components/audio/PlayToggle";
import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { StatusBadge } from "@/components/ui/StatusBadge";
import { button } from "@/components/ui/styles";
import { RanOn } from "@/components/ui/Workers";
import { formatSeconds } from "@/lib/format";
import { useAppStore } from "@/lib/store";
import { useRemoval } from "@/lib/useRemoval";
import type { Generation } from "@/types";
import { isActive } from "@/types";

/** A recent job: queue position, live progress (phase, step, ETA), cancel for its creator; then play or why not. */
export function JobCard({ id }: { id: string }) {
  const generation = useAppStore((s) => s.generations[id]);
  if (!generation) return null;
  return <Job generation={generation} />;
}

function Job({ generation }: { generation: Generation }) {
  const id = generation.generation_id;
  const current = useAppStore((s) => s.currentId === id);
  const removal = useRemoval(generation);
  const active = isActive(generation.status);

  return (
    <motion.li
      layout
      initial={{ opacity: 0, y: 8 }}
      animate={{ opacity: 1, y: 0 }}
      exit={{ opacity: 0, height: 0 }}
      data-testid="job"
      data-generation-id={id}
      data-status={generation.status}
      aria-current={current ? "true" : undefined}
      className={`space-y-3 rounded-xl border p-4 ${current ? "border-violet-400 bg-violet-50/60 dark:border-violet-700 dark:bg-violet-950/30" : "border-slate-200 bg-slate-50 dark:border-slate-800 dark:bg-slate-950/50"}`}
    >
      <div className="flex flex-wrap items-start justify-between gap-x-3 gap-y-2">
        <div className="min-w-0 flex-1 basis-48">
          <p className="line-clamp-3 text-sm font-medium break-words" title={generation.prompt} data-testid="job-title">
            {generation.prompt}
          </p>
          <p className="text-xs text-slate-500 dark:text-slate-400">
            {formatSeconds(generation.duration_requested)} · {generation.device} · {generation.precision}
            <RanOn generation={generation} />
            {generation.seed !== null && ` · seed ${generation.seed}`}
          </p>
          {generation.batch_id && (
            <p className="mt-1">
              <BatchBadge generation={generation} />
            </p>
          )}
          <ContinuationNote generation={generation} />
        </div>
        <div className="flex shrink-0 items-center gap-2">
          <NowPlaying id={id} />
          <StatusBadge status={generation.status} />
          {active && removal.allowed && (
            <button type="button" className={button.danger} onClick={removal.run} disabled={removal.busy} aria-label={`Cancel the generation of ${generation.prompt}`}>
              {removal.busy ? "Canceling…" : "Cancel"}
            </button>
          )}
        </div>
      </div>
      <JobProgress generation={generation} />
      <LiveListen generation={generation} />
      {generation.status === "succeeded" && !current && <PlayToggle id={id} prompt={generation.prompt} withText />}
      <JobOutcome generation={generation} />
      {removal.error !== null && <ErrorMessage error={removal.error} title="Could not cancel it" />}
    </motion.li>
  );
}
