"use client";
// The generation workers: which one ran a track ("on gpu-a0"), and the list of them when there are several.
import { useEffect, useState } from "react";

import { formatAgo } from "@/lib/format";
import { useAppStore } from "@/lib/store";
import type { Generation, WorkerStatus } from "@/types";

/** " on gpu-a0" after a record's device and precision; nothing while no worker has taken it. */
export function RanOn({ generation }: { generation: Generation }) {
  if (!generation.worker) return null;
  return (
    <>
      {" on "}
      <span data-testid="generation-worker" className="break-all" title={generation.status === "running" ? "The worker running it" : "The worker that ran it"}>
        {generation.worker}
      </span>
    </>
  );
}

/** The live workers as the service last reported them (/health, else /model/status); null before it answered. */
export function useWorkers(): WorkerStatus[] | null {
  const fromHealth = useAppStore((s) => s.health?.workers);
  const fromStatus = useAppStore((s) => s.modelStatus?.workers);
  return fromHealth ?? fromStatus ?? null;
}

/** The time now, renewed every `ms` (so that "3 s ago" counts on between two reports). */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

const STATUS_STYLES: Record<string, string> = {
  ready: "bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300",
  loading: "bg-sky-100 text-sky-800 dark:bg-sky-950 dark:text-sky-300",
  error: "bg-rose-100 text-rose-800 dark:bg-rose-950 dark:text-rose-300",
};
const OTHER_STATUS = "bg-slate-200 text-slate-700 dark:bg-slate-800 dark:text-slate-300";

/** One row per worker: name, status, device and precision, jobs running now, last heartbeat. */
export function WorkersTable({ workers }: { workers: WorkerStatus[] }) {
  const now = useNow(1000);
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-left text-sm" data-testid="workers">
        <caption className="mb-2 text-left text-sm font-medium">Workers ({workers.length})</caption>
        <thead className="text-xs text-slate-500 dark:text-slate-400">
          <tr>
            <th className="py-1 pr-4 font-medium">Worker</th>
            <th className="py-1 pr-4 font-medium">Status</th>
            <th className="py-1 pr-4 font-medium">Device · precision</th>
            <th className="py-1 pr-4 font-medium">Jobs</th>
            <th className="py-1 font-medium">Last heartbeat</th>
          </tr>
        </thead>
        <tbody>
          {workers.map((worker) => (
            <tr key={worker.name} data-testid="worker-row" data-worker={worker.name} className="border-t border-slate-200 dark:border-slate-800">
              <td className="py-1.5 pr-4 font-medium break-all" title={`${worker.host}, process ${worker.pid}: ${worker.model} (${worker.backend})`}>
                {worker.name}
              </td>
              <td className="py-1.5 pr-4">
                <span className={`rounded-full px-2 py-0.5 text-xs font-semibold ${STATUS_STYLES[worker.status] ?? OTHER_STATUS}`}>{worker.status}</span>
              </td>
              <td className="py-1.5 pr-4">
                {worker.device} · {worker.precision}
              </td>
              <td className="py-1.5 pr-4 tabular-nums" title={`At most ${worker.max_batch} at once`}>
                {worker.running.length ? `${worker.running.length} running` : "idle"}
              </td>
              <td className="py-1.5 tabular-nums">
                <time dateTime={worker.last_heartbeat ?? undefined}>{formatAgo(worker.last_heartbeat, now)}</time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The workers, when there are several (scale-out). One worker (the service itself, by default) is not
 * listed; none at all is the status banner's warning.
 */
export function WorkersPanel() {
  const workers = useWorkers();
  if (!workers || workers.length <= 1) return null;
  return <WorkersTable workers={workers} />;
}
