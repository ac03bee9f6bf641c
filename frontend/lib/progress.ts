// What a job's progress bar says: the service's phase in words, its fraction of the whole job and its
// ETA. The bar never reads 100% before the record says succeeded (the fraction reaches 1.0 only once
// the file is on disk, and the record turns succeeded a moment later).
import { formatEta, formatSeconds, formatSecondsUnit, queueDetail } from "@/lib/format";
import type { Generation, Phase, Progress } from "@/types";

/** Each phase in words. Keyed by the service's enum: a phase it adds fails the type check until named. */
const PHASE_LABELS: Record<Phase, string> = {
  queued: "Starting",
  encoding_text: "Encoding the prompt",
  generating: "Generating",
  decoding_audio: "Decoding audio",
  writing: "Writing the file",
  finished: "Finishing",
};

export function phaseLabel(progress: Pick<Progress, "phase" | "step" | "total_steps">): string {
  if (progress.phase === "generating" && progress.total_steps > 0) return `Generating · step ${progress.step}/${progress.total_steps}`;
  return PHASE_LABELS[progress.phase] ?? progress.phase;
}

export interface ProgressView {
  /** Whole percent to show; null while the job waits (an indeterminate bar). */
  percent: number | null;
  /** Where the job is, in words. */
  phase: string;
  /** ETA, place in the queue, or how long it took. */
  detail: string;
}

/** The later of the record's progress and the last live event (a job's fraction never goes back). */
export function latestProgress(record: Progress, live: Progress | undefined): Progress {
  return live && live.fraction >= record.fraction ? live : record;
}

/** The bar of an active or succeeded job; null for one that failed or was canceled. */
export function progressView(generation: Generation, live?: Progress): ProgressView | null {
  switch (generation.status) {
    case "queued":
      return { percent: null, phase: "Waiting", detail: queueDetail(generation.queue_position) };
    case "running": {
      const progress = latestProgress(generation.progress, live);
      const percent = Math.min(99, Math.max(0, Math.floor(progress.fraction * 100)));
      return { percent, phase: phaseLabel(progress), detail: formatEta(progress.eta_s) };
    }
    case "succeeded": {
      const took = generation.generation_time === null ? "" : ` in ${formatSecondsUnit(generation.generation_time)}`;
      return { percent: 100, phase: "Done", detail: `done${took} · ${formatSeconds(generation.duration)} of audio` };
    }
    default:
      return null;
  }
}
