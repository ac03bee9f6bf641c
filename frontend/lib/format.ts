// Small formatting helpers shared by the tabs.
import type { GenerationStatus } from "@/types";

export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const total = Math.max(0, Math.round(seconds));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "estimating…";
  if (seconds < 1) return "less than a second left";
  if (seconds < 60) return `${Math.ceil(seconds)} s left`;
  return `${formatSeconds(seconds)} left`;
}

/** A waiting job's place in line, as the service reports it (null: not known). */
export function queueDetail(position: number | null | undefined): string {
  if (!position) return "waiting in the queue";
  return position === 1 ? "next in line" : `position ${position} in the queue`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "–";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "–";
  return `${Math.round(fraction * 1000) / 10}%`;
}

export function formatRtf(rtf: number | null | undefined): string {
  if (rtf === null || rtf === undefined || !Number.isFinite(rtf) || rtf <= 0) return "–";
  return `${rtf >= 10 ? rtf.toFixed(0) : rtf.toFixed(2)}× realtime`;
}

/** Whether a model name or its info says its weights are random (its audio is noise). */
export function isRandomModel(model: string | null | undefined, info?: Record<string, unknown> | null): boolean {
  if (info && info.random_weights === true) return true;
  return !!model && /(^|\/)[a-z]+-random$/i.test(model);
}

/** Seconds with a unit ("2.4 s"), or a dash when unknown (a figure the service has not measured yet). */
export function formatSecondsUnit(seconds: number | null | undefined, digits = 1): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  return `${seconds.toFixed(digits)} s`;
}

/** A size in megabytes as the service reports it (null until the file exists). */
export function formatMegabytes(mb: number | null | undefined): string {
  if (mb === null || mb === undefined || !Number.isFinite(mb)) return "–";
  return formatBytes(mb * 1024 * 1024);
}

/** Why a job ended without audio, in a sentence: "Canceled at step 30 of 500." */
export function outcomeText(status: Extract<GenerationStatus, "failed" | "canceled">, message: string | null | undefined): string {
  const text = (message ?? "").trim();
  if (status === "failed") return text || "The generation failed.";
  if (!text) return "Canceled.";
  const sentence = /^cancell?ed\b/i.test(text) ? text.charAt(0).toUpperCase() + text.slice(1) : `Canceled: ${text}`;
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

/** How long ago an ISO time was, for a heartbeat: "just now", "3 s ago", "2 min ago", "1 h ago" ("–" when unknown). */
export function formatAgo(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "–";
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return "–";
  // A clock a little ahead of this browser's (another machine's) reads as now, not as the future.
  const seconds = Math.floor((now - then) / 1000);
  if (seconds < 1) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}
