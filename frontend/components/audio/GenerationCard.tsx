"use client";

import { motion } from "motion/react";
import { useState } from "react";

import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { ProgressBar } from "@/components/ui/ProgressBar";
import { StatusBadge } from "@/components/ui/StatusBadge";
import { button } from "@/components/ui/styles";
import { removeGeneration, toggleFavorite } from "@/lib/actions";
import { formatDate, formatEta, formatSeconds, queueDetail } from "@/lib/format";
import { useAppStore } from "@/lib/store";

interface Props {
  id: string;
  /** Shown before the prompt (Popular's ranking). */
  rank?: number;
}

export function FavoriteButton({ id, className = "" }: { id: string; className?: string }) {
  const favorited = useAppStore((s) => s.generations[id]?.is_favorited ?? false);
  const prompt = useAppStore((s) => s.generations[id]?.prompt ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <button
        type="button"
        aria-pressed={favorited}
        aria-label={favorited ? `Remove ${prompt} from favourites` : `Add ${prompt} to favourites`}
        title={favorited ? "Remove from favourites" : "Add to favourites"}
        data-testid="favorite-button"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await toggleFavorite(id);
          } catch (e) {
            setError(e);
          } finally {
            setBusy(false);
          }
        }}
        className={`${button.ghost} text-lg ${favorited ? "text-amber-500! dark:text-amber-400!" : ""} ${className}`}
      >
        <span aria-hidden>{favorited ? "★" : "☆"}</span>
      </button>
      {error !== null && (
        <div className="basis-full">
          <ErrorMessage error={error} />
        </div>
      )}
    </>
  );
}

/** One generation in a list: status (with live progress), facts, play, favourite, delete. */
export function GenerationCard({ id, rank }: Props) {
  const generation = useAppStore((s) => s.generations[id]);
  const progress = useAppStore((s) => s.progress[id]);
  const playing = useAppStore((s) => s.currentId === id);
  const [error, setError] = useState<unknown>(null);
  const [removing, setRemoving] = useState(false);
  if (!generation) return null;
  const active = generation.status === "queued" || generation.status === "running";

  const remove = async () => {
    const question = active ? `Cancel the generation of “${generation.prompt}”?` : `Delete “${generation.prompt}” and its audio for good?`;
    if (!window.confirm(question)) return;
    setRemoving(true);
    setError(null);
    try {
      await removeGeneration(generation);
    } catch (e) {
      setError(e);
    } finally {
      setRemoving(false);
    }
  };

  return (
    <motion.li
      layout="position"
      initial={{ opacity: 0 }}
      animate={{ opacity: 1 }}
      exit={{ opacity: 0 }}
      data-testid="generation-card"
      data-generation-id={id}
      className={`rounded-xl border p-3 sm:p-4 ${playing ? "border-violet-400 bg-violet-50/60 dark:border-violet-700 dark:bg-violet-950/30" : "border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900"}`}
    >
      <div className="flex flex-wrap items-center gap-x-3 gap-y-2">
        {rank !== undefined && <span className="w-7 text-center text-lg font-bold text-slate-400">{rank}</span>}
        {generation.status === "succeeded" ? (
          <button
            type="button"
            onClick={() => useAppStore.getState().play(id)}
            className="grid size-10 shrink-0 place-items-center rounded-full bg-violet-600 text-white shadow hover:bg-violet-500"
            aria-label={`Play ${generation.prompt}`}
          >
            <span aria-hidden>▶</span>
          </button>
        ) : (
          <span className="grid size-10 shrink-0 place-items-center rounded-full bg-slate-200 text-slate-500 dark:bg-slate-800" aria-hidden>
            ♪
          </span>
        )}
        <div className="min-w-0 flex-1">
          <p className="truncate font-medium" title={generation.prompt}>
            {generation.prompt}
          </p>
          <p className="flex flex-wrap gap-x-2 text-xs text-slate-500 dark:text-slate-400">
            <span>{formatDate(generation.created_at)}</span>
            <span>· {formatSeconds(generation.status === "succeeded" ? generation.duration : generation.duration_requested)}</span>
            <span>
              · {generation.device}/{generation.precision}
            </span>
            <span data-testid="play-count">· {generation.play_count} {generation.play_count === 1 ? "play" : "plays"}</span>
          </p>
        </div>
        <div className="ml-auto flex items-center gap-1">
          <StatusBadge status={generation.status} />
          {generation.status === "succeeded" && <FavoriteButton id={id} />}
          <button type="button" className={button.danger} onClick={remove} disabled={removing} aria-label={`${active ? "Cancel" : "Delete"} ${generation.prompt}`}>
            {active ? "Cancel" : "Delete"}
          </button>
        </div>
      </div>
      {active && (
        <div className="mt-3">
          {generation.status === "queued" ? (
            <ProgressBar fraction={0} indeterminate label={`Progress of ${generation.prompt}`} detail={queueDetail(generation.queue_position)} />
          ) : (
            <ProgressBar
              fraction={progress?.fraction ?? generation.progress.fraction}
              label={`Progress of ${generation.prompt}`}
              detail={formatEta(progress ? progress.eta_s : generation.progress.eta_s)}
            />
          )}
        </div>
      )}
      {generation.status === "failed" && generation.error_message && (
        <p className="mt-2 text-sm text-rose-700 dark:text-rose-300">{generation.error_message}</p>
      )}
      {error !== null && (
        <div className="mt-2">
          <ErrorMessage error={error} />
        </div>
      )}
    </motion.li>
  );
}
