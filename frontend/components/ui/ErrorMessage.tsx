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

interface Props {
  error: unknown;
  /** Offered as a button (after any Retry-After has passed). */
  onRetry?: () => void;
  title?: string;
}

/** An API error as the service put it; a rate limit says when to try again. */
export function ErrorMessage({ error, onRetry, title }: Props) {
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
        <p className="break-words">{errorMessage(error)}</p>
        {left > 0 && <p className="mt-1 font-medium">You can try again in {left} s.</p>}
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
