"use client";

import { type ReactNode, useCallback, useEffect, useId, useState } from "react";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Line,
  LineChart,
  Pie,
  PieChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { card, fieldBase } from "@/components/ui/styles";
import { WorkersPanel } from "@/components/ui/Workers";
import { api } from "@/lib/api";
import { formatBytes, formatPercent, formatSeconds, formatSecondsUnit } from "@/lib/format";
import { dailySeries, deviceRows, STATS_COLORS as COLORS, successSlices } from "@/lib/stats";
import { useAppStore } from "@/lib/store";
import type { Stats } from "@/types";
import { API_PARAMETERS } from "@/types/api.constants";

const DAYS = API_PARAMETERS["GET /stats"].days;
/** The periods offered: the service's default, a month, a quarter, and the most it analyses. */
const DAY_CHOICES = [...new Set([DAYS.default, 30, 90, DAYS.maximum])].filter((days) => days >= DAYS.minimum && days <= DAYS.maximum);
const tooltipStyle = {
  contentStyle: { borderRadius: 12, border: "1px solid #cbd5e1", background: "rgba(255,255,255,0.96)", color: "#0f172a", fontSize: 12 },
};

function Tile({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId?: string }) {
  return (
    <div className="rounded-xl border border-slate-200 bg-slate-50 p-3 dark:border-slate-800 dark:bg-slate-950/50">
      <p className="text-xs font-medium text-slate-500 dark:text-slate-400">{label}</p>
      <p className="mt-1 text-xl font-semibold tabular-nums" data-testid={testId}>
        {value}
      </p>
      {hint && <p className="text-xs text-slate-500 dark:text-slate-400">{hint}</p>}
    </div>
  );
}

function ChartCard({ title, children, empty, note }: { title: string; children: ReactNode; empty?: boolean; note?: ReactNode }) {
  return (
    <figure className="rounded-xl border border-slate-200 p-3 dark:border-slate-800">
      <figcaption className="mb-2 text-sm font-medium">{title}</figcaption>
      {empty ? <p className="grid h-48 place-items-center text-sm text-slate-500">No data in this period yet.</p> : <div className="h-56 text-slate-500 dark:text-slate-400">{children}</div>}
      {note && <p className="mt-2 text-xs text-slate-500 dark:text-slate-400">{note}</p>}
    </figure>
  );
}

export function shortDate(iso: string): string {
  const date = new Date(`${iso}T00:00:00`);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function StatsView({ stats }: { stats: Stats }) {
  const { totals, storage } = stats;
  const daily = dailySeries(stats.daily, shortDate);
  const devices = deviceRows(stats.by_device);
  const outcome = successSlices(totals);
  const notInRate = totals.canceled + totals.queued + totals.running;
  const axis = { stroke: "currentColor", tick: { fill: "currentColor", fontSize: 11 } };

  return (
    <div className="space-y-5">
      <div className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-5">
        <Tile label="Generations" value={String(totals.generations)} hint={`${totals.queued + totals.running} in progress`} testId="stat-generations" />
        <Tile
          label="Success rate"
          value={formatPercent(totals.success_rate)}
          hint={`${totals.succeeded} ok · ${totals.failed} failed · ${totals.canceled} canceled`}
          testId="stat-success-rate"
        />
        <Tile label="Avg generation time" value={formatSecondsUnit(totals.avg_generation_time)} />
        <Tile label="Avg realtime factor" value={totals.avg_realtime_factor !== null ? `${totals.avg_realtime_factor.toFixed(2)}×` : "–"} hint="audio s per wall s" />
        <Tile label="Audio generated" value={formatSeconds(totals.audio_seconds)} hint="min:s" />
        <Tile label="Plays" value={String(totals.plays)} testId="stat-plays" />
        <Tile label="Downloads" value={String(totals.downloads)} testId="stat-downloads" />
        <Tile label="Favourites" value={String(totals.favorites)} testId="stat-favorites" />
        <Tile label="Storage used" value={formatBytes(storage.bytes)} hint={`${storage.files} files`} testId="stat-storage" />
        <Tile label="Disk free" value={storage.disk_free_gb !== null ? `${storage.disk_free_gb} GB` : "–"} />
      </div>

      <div className="grid gap-4 lg:grid-cols-2">
        <ChartCard title="Generations per day" empty={daily.every((d) => !d.succeeded && !d.failed && !d.canceled)}>
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={daily} margin={{ top: 4, right: 8, bottom: 0, left: -20 }}>
              <CartesianGrid strokeOpacity={0.15} vertical={false} />
              <XAxis dataKey="date" {...axis} />
              <YAxis allowDecimals={false} {...axis} />
              <Tooltip {...tooltipStyle} />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              <Bar dataKey="succeeded" name="Succeeded" stackId="a" fill={COLORS.succeeded} />
              <Bar dataKey="failed" name="Failed" stackId="a" fill={COLORS.failed} />
              <Bar dataKey="canceled" name="Canceled" stackId="a" fill={COLORS.canceled} radius={[4, 4, 0, 0]} />
            </BarChart>
          </ResponsiveContainer>
        </ChartCard>

        <ChartCard
          title="Success rate (succeeded of succeeded + failed)"
          empty={outcome.length === 0}
          note={
            <span data-testid="success-note">
              {totals.canceled} canceled{notInRate > totals.canceled ? ` and ${notInRate - totals.canceled} in progress` : ""}: not part of the rate.
            </span>
          }
        >
          <div className="relative h-full">
            <ResponsiveContainer width="100%" height="100%">
              <PieChart>
                <Pie data={outcome} dataKey="value" nameKey="name" innerRadius="58%" outerRadius="85%" paddingAngle={outcome.length > 1 ? 2 : 0} isAnimationActive={false}>
                  {outcome.map((part) => (
                    <Cell key={part.name} fill={part.color} />
                  ))}
                </Pie>
                <Tooltip {...tooltipStyle} />
                <Legend wrapperStyle={{ fontSize: 12 }} />
              </PieChart>
            </ResponsiveContainer>
            <p
              className="pointer-events-none absolute inset-x-0 top-[42%] text-center text-2xl font-semibold text-slate-900 dark:text-slate-100"
              data-testid="success-donut-label"
            >
              {formatPercent(totals.success_rate)}
            </p>
          </div>
        </ChartCard>

        <ChartCard
          title="Average generation time per day (s)"
          empty={daily.every((d) => d.time === null)}
          note="A gap is a day without a successful generation."
        >
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={daily} margin={{ top: 4, right: 8, bottom: 0, left: -20 }}>
              <CartesianGrid strokeOpacity={0.15} vertical={false} />
              <XAxis dataKey="date" {...axis} />
              <YAxis {...axis} />
              <Tooltip {...tooltipStyle} />
              <Line type="monotone" dataKey="time" name="Seconds" stroke={COLORS.time} strokeWidth={2} dot={{ r: 3 }} connectNulls={false} />
            </LineChart>
          </ResponsiveContainer>
        </ChartCard>

        <ChartCard title="Realtime factor by device and precision (higher is faster)" empty={devices.every((row) => row.rtf === null)}>
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={devices} layout="vertical" margin={{ top: 4, right: 16, bottom: 0, left: 8 }}>
              <CartesianGrid strokeOpacity={0.15} horizontal={false} />
              <XAxis type="number" {...axis} />
              <YAxis type="category" dataKey="name" width={110} {...axis} />
              <Tooltip {...tooltipStyle} />
              <Bar dataKey="rtf" name="× realtime" fill={COLORS.rtf} radius={[0, 4, 4, 0]} />
            </BarChart>
          </ResponsiveContainer>
        </ChartCard>
      </div>

      {devices.length > 0 && (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm">
            <caption className="mb-2 text-left text-sm font-medium">By device and precision</caption>
            <thead className="text-xs text-slate-500 dark:text-slate-400">
              <tr>
                <th className="py-1 pr-4 font-medium">Device · precision</th>
                <th className="py-1 pr-4 font-medium">Generations</th>
                <th className="py-1 pr-4 font-medium">Avg time</th>
                <th className="py-1 font-medium">Realtime factor</th>
              </tr>
            </thead>
            <tbody>
              {devices.map((row) => (
                <tr key={row.name} className="border-t border-slate-200 dark:border-slate-800">
                  <td className="py-1.5 pr-4">{row.name}</td>
                  <td className="py-1.5 pr-4 tabular-nums">{row.generations}</td>
                  <td className="py-1.5 pr-4 tabular-nums">{formatSecondsUnit(row.time, 2)}</td>
                  <td className="py-1.5 tabular-nums">{row.rtf === null ? "–" : `${row.rtf}×`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(stats.benchmarks ?? []).length > 0 && (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" data-testid="benchmarks-table">
            <caption className="mb-2 text-left text-sm font-medium">Benchmarks: best recorded realtime factor per device and variant</caption>
            <thead className="text-xs text-slate-500 dark:text-slate-400">
              <tr>
                <th className="py-1 pr-4 font-medium">Device</th>
                <th className="py-1 pr-4 font-medium">Model · backend · precision</th>
                <th className="py-1 pr-4 font-medium">Best realtime factor</th>
                <th className="py-1 pr-4 font-medium">vs reference float32</th>
                <th className="py-1 font-medium">Runs</th>
              </tr>
            </thead>
            <tbody>
              {stats.benchmarks.map((row) => (
                <tr key={`${row.device_name}|${row.model}|${row.backend}|${row.precision}`} className="border-t border-slate-200 dark:border-slate-800">
                  <td className="py-1.5 pr-4">
                    {row.device_type} <span className="text-slate-500">({row.device_name})</span>
                  </td>
                  <td className="py-1.5 pr-4">
                    {row.model} · {row.backend} · {row.precision}
                  </td>
                  <td className="py-1.5 pr-4 tabular-nums">{row.best_realtime_factor.toFixed(2)}×</td>
                  <td className="py-1.5 pr-4 tabular-nums">{row.best_vs_reference_float32 ? `${row.best_vs_reference_float32.toFixed(2)}×` : "–"}</td>
                  <td className="py-1.5 tabular-nums">{row.runs}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function StatsTab() {
  const ids = useId();
  const version = useAppStore((s) => s.libraryVersion);
  const [days, setDays] = useState<number>(DAYS.default);
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [nonce, setNonce] = useState(0);
  const reload = useCallback(() => setNonce((n) => n + 1), []);

  useEffect(() => {
    let canceled = false;
    api
      .stats(days)
      .then((answer) => {
        if (!canceled) {
          setStats(answer);
          setError(null);
        }
      })
      .catch((e) => !canceled && setError(e));
    return () => {
      canceled = true;
    };
  }, [days, version, nonce]);

  return (
    <section className={`${card} space-y-4`} aria-labelledby={`${ids}-title`}>
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h2 id={`${ids}-title`} className="text-lg font-semibold">
          Statistics
        </h2>
        <div className="flex items-center gap-2 text-sm">
          <label htmlFor={`${ids}-days`}>Period</label>
          <select id={`${ids}-days`} className={`${fieldBase} py-1`} value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {DAY_CHOICES.map((choice) => (
              <option key={choice} value={choice}>
                last {choice} days
              </option>
            ))}
          </select>
        </div>
      </div>
      <WorkersPanel />
      {error !== null && <ErrorMessage error={error} onRetry={reload} />}
      {stats ? <StatsView stats={stats} /> : error === null && <p className="py-8 text-center text-sm text-slate-500">Loading…</p>}
    </section>
  );
}
