"use client";
// A job's progress bar (phase, fraction, ETA) and, when it ended without audio, why.
import { ProgressBar } from "@/components/ui/ProgressBar";
import { outcomeText } from "@/lib/format";
import { progressView } from "@/lib/progress";
import { useAppStore } from "@/lib/store";
import type { Generation } from "@/types";

export function JobProgress({ generation }: { generation: Generation }) {
  const live = useAppStore((s) => s.progress[generation.generation_id]);
  const view = progressView(generation, live);
  if (!view) return null;
  return <ProgressBar percent={view.percent} phase={view.phase} detail={view.detail} label={`Progress of ${generation.prompt}`} />;
}

/** `announce`: say a failure to assistive technology as it happens (a job being followed, not a list row). */
export function JobOutcome({ generation, announce = true }: { generation: Generation; announce?: boolean }) {
  if (generation.status === "failed") {
    return (
      <p role={announce ? "alert" : undefined} className="text-sm break-words text-rose-700 dark:text-rose-300">
        {outcomeText("failed", generation.error_message)}
        {generation.error_type && <span className="ml-1 opacity-70">({generation.error_type})</span>}
      </p>
    );
  }
  if (generation.status === "canceled") {
    return <p className="text-sm text-slate-500 dark:text-slate-400">{outcomeText("canceled", generation.error_message)}</p>;
  }
  return null;
}
