"use client";

import { motion } from "motion/react";

interface Props {
  /** Whole percent done; null while there is no measure yet (an indeterminate bar). */
  percent: number | null;
  label: string;
  /** Where the work is, in words ("Decoding audio"). */
  phase?: string;
  /** Shown at the right under the bar (ETA, queue position). */
  detail?: string;
}

export function ProgressBar({ percent, label, phase, detail }: Props) {
  const value = percent === null ? null : Math.round(Math.min(100, Math.max(0, percent)));
  const words = [phase, detail].filter(Boolean).join(", ");
  return (
    <div>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={value ?? undefined}
        aria-valuetext={value === null ? words || undefined : `${value}%${words ? `, ${words}` : ""}`}
        className="h-2.5 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-800"
      >
        {value === null ? (
          <div className="h-full w-1/3 animate-pulse rounded-full bg-amber-400/80" />
        ) : (
          <motion.div
            className="h-full rounded-full bg-gradient-to-r from-violet-600 to-fuchsia-500"
            initial={false}
            animate={{ width: `${value}%` }}
            transition={{ type: "tween", duration: 0.25 }}
          />
        )}
      </div>
      <div className="mt-1.5 flex flex-wrap justify-between gap-x-3 text-xs text-slate-500 dark:text-slate-400">
        <span>
          {value !== null && (
            <span data-testid="progress-percent" className="font-medium tabular-nums text-slate-700 dark:text-slate-200">
              {value}%
            </span>
          )}
          {value !== null && phase && " · "}
          {phase && <span data-testid="progress-phase">{phase}</span>}
        </span>
        {detail && <span data-testid="progress-detail">{detail}</span>}
      </div>
    </div>
  );
}
