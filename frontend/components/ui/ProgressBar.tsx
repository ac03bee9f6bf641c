"use client";

import { motion } from "motion/react";

interface Props {
  fraction: number;
  label: string;
  /** Shown under the bar (ETA, queue position). */
  detail?: string;
  indeterminate?: boolean;
}

export function ProgressBar({ fraction, label, detail, indeterminate }: Props) {
  const percent = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  return (
    <div>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={indeterminate ? undefined : percent}
        aria-valuetext={indeterminate ? detail : `${percent}%${detail ? `, ${detail}` : ""}`}
        className="h-2.5 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-800"
      >
        {indeterminate ? (
          <div className="h-full w-1/3 animate-pulse rounded-full bg-amber-400/80" />
        ) : (
          <motion.div
            className="h-full rounded-full bg-gradient-to-r from-violet-600 to-fuchsia-500"
            initial={false}
            animate={{ width: `${percent}%` }}
            transition={{ type: "tween", duration: 0.25 }}
          />
        )}
      </div>
      <div className="mt-1.5 flex justify-between text-xs text-slate-500 dark:text-slate-400">
        <span data-testid="progress-percent">{indeterminate ? "" : `${percent}%`}</span>
        {detail && <span>{detail}</span>}
      </div>
    </div>
  );
}
