// The Stats tab's figures, shaped for the charts. Nothing unknown becomes a zero: an empty day has no
// average (a gap in the line), a device without a measure has no bar; the success rate is the
// service's (succeeded of succeeded + failed), so the donut shows exactly those two and canceled jobs
// are counted beside it, not inside it.
import type { DayStats, DeviceStats, Totals } from "@/types";

export const STATS_COLORS = { succeeded: "#10b981", failed: "#f43f5e", canceled: "#94a3b8", time: "#8b5cf6", rtf: "#0ea5e9" };

export interface Slice {
  name: string;
  value: number;
  color: string;
}

/** The donut of the success rate: succeeded and failed (the rate's own terms), the empty ones left out. */
export function successSlices(totals: Totals): Slice[] {
  return [
    { name: "Succeeded", value: totals.succeeded, color: STATS_COLORS.succeeded },
    { name: "Failed", value: totals.failed, color: STATS_COLORS.failed },
  ].filter((slice) => slice.value > 0);
}

export interface DayPoint {
  date: string;
  succeeded: number;
  failed: number;
  canceled: number;
  /** Average seconds of the day's successful generations; null when there were none (a gap). */
  time: number | null;
}

const round2 = (value: number | null | undefined): number | null =>
  value === null || value === undefined || !Number.isFinite(value) ? null : Math.round(value * 100) / 100;

export function dailySeries(daily: DayStats[], label: (iso: string) => string = (iso) => iso): DayPoint[] {
  return daily.map((day) => ({
    date: label(String(day.date)),
    succeeded: day.successful_generations,
    failed: day.failed_generations,
    canceled: day.canceled_generations,
    time: round2(day.avg_generation_time),
  }));
}

export interface DeviceRow {
  name: string;
  generations: number;
  /** Average realtime factor; null when no generation there succeeded. */
  rtf: number | null;
  time: number | null;
}

export function deviceRows(rows: DeviceStats[]): DeviceRow[] {
  return rows.map((row) => ({
    name: `${row.device} · ${row.precision}`,
    generations: row.generations,
    rtf: round2(row.avg_realtime_factor),
    time: round2(row.avg_generation_time),
  }));
}
