"use client";

import { motion } from "motion/react";
import { type ReactNode, useState } from "react";

import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { ProgressBar } from "@/components/ui/ProgressBar";
import { StatusBadge } from "@/components/ui/StatusBadge";
import { button } from "@/components/ui/styles";
import { api } from "@/lib/api";
import { formatEta, formatSeconds, queueDetail } from "@/lib/format";
import { useAppStore } from "@/lib/store";
import { stop } from "@/lib/tracker";

/** A job started here: queue position, live progress with ETA, cancel; then play or the error. */
export function JobCard({ id }: { id: string }) {
  const generation = useAppStore((s) => s.generations[id]);
  const progress = useAppStore((s) => s.progress[id]);
  const currentId = useAppStore((s) => s.currentId);
  const [error, setError] = useState<unknown>(null);
  const [canceling, setCanceling] = useState(false);
  if (!generation) return null;
  const { status } = generation;

  const cancel = async () => {
    setCanceling(true);
    setError(null);
    try {
      const record = await api.remove(id);
      if (record) useAppStore.getState().upsert(record);
      stop(id);
      useAppStore.getState().libraryChanged();
    } catch (e) {
      setError(e);
    } finally {
      setCanceling(false);
    }
  };

  let body: ReactNode = null;
  if (status === "queued") {
    const detail = queueDetail(generation.queue_position);
    body = <ProgressBar fraction={0} indeterminate label="Generation progress" detail={detail} />;
  } else if (status === "running") {
    const fraction = progress?.fraction ?? generation.progress.fraction ?? 0;
    const eta = progress ? progress.eta_s : generation.progress.eta_s;
    const step = progress ? `step ${progress.step}/${progress.total_steps} · ` : "";
    body = <ProgressBar fraction={fraction} label="Generation progress" detail={`${step}${formatEta(eta)}`} />;
  } else if (status === "succeeded") {
    body = (
      <div className="space-y-3">
        <ProgressBar
          fraction={1}
          label="Generation progress"
          detail={`done in ${generation.generation_time.toFixed(1)} s · ${formatSeconds(generation.duration)} of audio`}
        />
        {currentId !== id && (
          <button type="button" className={button.secondary} onClick={() => useAppStore.getState().play(id)}>
            ▶ Play
          </button>
        )}
      </div>
    );
  } else if (status === "failed") {
    body = (
      <p role="alert" className="text-sm text-rose-700 dark:text-rose-300">
        {generation.error_message ?? "The generation failed."}
        {generation.error_type && <span className="ml-1 opacity-70">({generation.error_type})</span>}
      </p>
    );
  } else if (status === "canceled") {
    body = <p className="text-sm text-slate-500 dark:text-slate-400">Canceled.</p>;
  }

  return (
    <motion.li
      layout
      initial={{ opacity: 0, y: 8 }}
      animate={{ opacity: 1, y: 0 }}
      exit={{ opacity: 0, height: 0 }}
      data-testid="job"
      data-generation-id={id}
      data-status={status}
      className="space-y-3 rounded-xl border border-slate-200 bg-slate-50 p-4 dark:border-slate-800 dark:bg-slate-950/50"
    >
      <div className="flex items-start justify-between gap-3">
        <div className="min-w-0">
          <p className="truncate text-sm font-medium" title={generation.prompt}>
            {generation.prompt}
          </p>
          <p className="text-xs text-slate-500 dark:text-slate-400">
            {formatSeconds(generation.duration_requested)} · {generation.device} · {generation.precision}
            {generation.seed !== null && ` · seed ${generation.seed}`}
          </p>
        </div>
        <div className="flex shrink-0 items-center gap-2">
          <StatusBadge status={status} />
          {(status === "queued" || status === "running") && (
            <button type="button" className={button.danger} onClick={cancel} disabled={canceling} aria-label={`Cancel the generation of ${generation.prompt}`}>
              {canceling ? "Canceling…" : "Cancel"}
            </button>
          )}
          {(status === "succeeded" || status === "failed" || status === "canceled") && (
            <button
              type="button"
              className={button.ghost}
              onClick={() => useAppStore.getState().dismissJob(id)}
              aria-label={`Dismiss ${generation.prompt}`}
              title="Dismiss (it stays in History)"
            >
              ✕
            </button>
          )}
        </div>
      </div>
      {body}
      {error !== null && <ErrorMessage error={error} />}
    </motion.li>
  );
}
