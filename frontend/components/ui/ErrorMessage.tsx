"use client";

import { useEffect, useState } from "react";

import { ApiError, errorMessage } from "@/lib/api";

/** Seconds left of a Retry-After, counting down once a second (0 when there is none). */
export function useCountdown(seconds: number | undefined, key: unknown): number {
  const [left, setLeft] = useState(seconds ?? 0);
  useEffect(() => {
    setLeft(seconds ?? 0);
    if (!seconds) return;
    const started = Date.now();
    const timer = setInterval(() => {
      const remaining = Math.max(0, seconds - Math.floor((Date.now() - started) / 1000));
      setLeft(remaining);
      if (remaining === 0) clearInterval(timer);
    }, 1000);
    return () => clearInterval(timer);
  }, [seconds, key]);
  return left;
}

/** A message without its "; retry in 34 s" (the count at the time of the answer): the countdown says it live. */
export function withoutRetryHint(message: string): string {
  return message.replace(/;?\s*(retry|try again) in \d+ s\.?$/i, "");
}

interface Props {
  error: unknown;
  /** Offered as a button (after any Retry-After has passed). */
  onRetry?: () => void;
  title?: string;
  /** Another control (the form's button) counts the Retry-After down: no line for it here. */
  countedElsewhere?: boolean;
}

/** An API error as the service put it; a rate limit says when to try again (once: the button, or a line). */
export function ErrorMessage({ error, onRetry, title, countedElsewhere = false }: Props) {
  const retryAfter = error instanceof ApiError ? error.retryAfter : undefined;
  const left = useCountdown(retryAfter, error);
  const limited = error instanceof ApiError && error.status === 429;
  return (
    <div
      role="alert"
      className="flex flex-col gap-2 rounded-xl border border-rose-200 bg-rose-50 px-4 py-3 text-sm text-rose-800 sm:flex-row sm:items-center sm:justify-between dark:border-rose-900 dark:bg-rose-950/60 dark:text-rose-200"
    >
      <div>
        <p className="font-semibold">{title ?? (limited ? "Too many requests" : "Something went wrong")}</p>
        <p className="break-words">{retryAfter === undefined ? errorMessage(error) : withoutRetryHint(errorMessage(error))}</p>
        {left > 0 && !onRetry && !countedElsewhere && <p className="mt-1 font-medium">You can try again in {left} s.</p>}
      </div>
      {onRetry && (
        <button
          type="button"
          onClick={onRetry}
          disabled={left > 0}
          className="shrink-0 rounded-lg border border-rose-300 px-3 py-1.5 font-medium hover:bg-rose-100 disabled:opacity-50 dark:border-rose-800 dark:hover:bg-rose-900"
        >
          {left > 0 ? `Retry in ${left} s` : "Retry"}
        </button>
      )}
    </div>
  );
}
