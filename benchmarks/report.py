"""The Markdown table and the PNG plots of one benchmark run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from statistics import fmean

from benchmarks.runner import BenchReport, Measurement

Key = tuple[str, str, float]  # backend, precision, clip seconds
TracksKey = tuple[str, str, float, int]  # backend, precision, clip seconds, tracks at once


def grouped(report: BenchReport) -> dict[Key, list[Measurement]]:
    """Rows of one track at a time per variant and clip length, in the order they ran."""
    groups: dict[Key, list[Measurement]] = defaultdict(list)
    for m in report.measurements:
        if m.tracks == 1:
            groups[(m.backend, m.precision, m.clip_seconds)].append(m)
    return groups


def by_tracks(report: BenchReport) -> dict[TracksKey, list[Measurement]]:
    """Rows per variant, clip length and tracks at once (`--concurrency`), in the order they ran."""
    if not report.options.concurrency:
        return {}
    groups: dict[TracksKey, list[Measurement]] = defaultdict(list)
    for m in report.measurements:
        groups[(m.backend, m.precision, m.clip_seconds, m.tracks)].append(m)
    return groups


def vs_one_track(groups: dict[TracksKey, list[Measurement]], key: TracksKey) -> float | None:
    """Mean aggregate realtime factor of `key` / that of the same variant and clip, one track at a time."""
    single = groups.get((*key[:3], 1))
    if not single or not groups.get(key):
        return None
    base = fmean(r.realtime_factor for r in single)
    return fmean(r.realtime_factor for r in groups[key]) / base if base > 0 else None


def markdown(report: BenchReport) -> str:
    """A self-describing Markdown report: the setting, one line per variant and clip, what was skipped."""
    o = report.options
    lines = [
        f"# Benchmark: {o.model} on {report.device} ({report.device_name})",
        "",
        f"- run `{report.run_id}`, {report.started_at:%Y-%m-%d %H:%M} UTC, host `{report.host}`",
        f"- threads: {report.threads or 'n/a'}, repeats: {o.repeats}, warm-up: {o.warmup_s:g} s",
        "- " + ", ".join(f"{name} {version}" for name, version in report.versions.items()),
        "",
        "Realtime factor = audio seconds / wall seconds (higher is faster). Ratios divide by the "
        "reference backend's realtime factor measured in this same run (same clip length). "
        + (
            "With --concurrency every run goes through `Engine.generate_many`, not streamed (no first "
            "audio); this table is its one track at a time."
            if o.concurrency
            else "Every run streams its audio as the service does; first audio = seconds from the call "
            "to its first piece."
        ),
        "",
        "| backend | precision | clip (s) | runs | realtime factor | ms/step | first audio (s, worst) "
        "| load (s) | peak memory (MB) | x vs reference same precision | x vs reference float32 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (backend, precision, clip), rows in grouped(report).items():
        lines.append(
            f"| {backend} | {precision} | {clip:g} | {len(rows)} "
            f"| {fmean(r.realtime_factor for r in rows):.3f}x | {fmean(r.ms_per_step for r in rows):.1f} "
            f"| {_number(_worst(r.first_audio_s for r in rows), '.2f')} | {rows[0].load_time:.1f} "
            f"| {_number(max(r.peak_memory_mb or 0.0 for r in rows), '.0f')} "
            f"| {_ratio([r.vs_reference for r in rows])} | {_ratio([r.vs_reference_float32 for r in rows])} |"
        )
    if not report.measurements:
        lines.append("| (nothing ran) | | | | | | | | | | |")
    lines += _tracks_table(report)
    if report.bandwidth_gbs:
        rates = ", ".join(f"{variant} {rate:g}" for variant, rate in report.bandwidth_gbs.items())
        lines += [
            "",
            f"Memory read rate just before each variant (GB/s, 400 MB, {report.threads} threads; the "
            f"decoder step is bound by it and it moves with a shared host's load): {rates}.",
        ]
    if report.kernels:
        builds = ", ".join(f"{variant} {kernel}" for variant, kernel in report.kernels.items())
        lines += ["", f"Native library build (`native`: the best this CPU runs): {builds}."]
    if report.skipped:
        lines += ["", "Skipped:", ""]
        lines += [f"- {s.backend}:{s.precision}: {s.reason}" for s in report.skipped]
    return "\n".join(lines) + "\n"


def _tracks_table(report: BenchReport) -> list[str]:
    """`--concurrency`: one line per variant, clip and tracks at once."""
    groups = by_tracks(report)
    if not groups:
        return []
    lines = [
        "",
        "## Tracks generated at once",
        "",
        "Each run generates N tracks of the clip length at once (`Engine.generate_many`, N seeds; the "
        "backends that batch share every decoder step between them, the others run them one after "
        "another). Aggregate realtime factor = audio seconds of all N tracks / wall seconds of the whole "
        "call; x vs 1 track divides it by the same variant's one track at a time (through the same call); "
        "ms/step = the shared step (the fastest track's decoder loop / its steps); memory per track = "
        "(peak resident memory during the call - the level before it) / N.",
        "",
        "| backend | precision | clip (s) | tracks | runs | aggregate realtime factor | x vs 1 track "
        "| realtime factor per track | ms/step | wall (s) | peak memory growth per track (MB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, rows in groups.items():
        backend, precision, clip, tracks = key
        rtf = fmean(r.realtime_factor for r in rows)
        ratio = vs_one_track(groups, key)
        lines.append(
            f"| {backend} | {precision} | {clip:g} | {tracks} | {len(rows)} | {rtf:.3f}x "
            f"| {_number(ratio, '.2f')}{'x' if ratio is not None else ''} | {rtf / tracks:.3f}x "
            f"| {fmean(r.ms_per_step for r in rows):.1f} | {fmean(r.generation_time for r in rows):.1f} "
            f"| {_number(_worst(r.memory_per_track_mb for r in rows), '.0f')} |"
        )
    return lines


def plot_tracks(report: BenchReport, output_dir: Path) -> list[Path]:
    """`concurrency.png`: aggregate realtime factor against tracks at once, one line per variant and clip,
    each point labelled with its ratio to one track."""
    groups = by_tracks(report)
    if not groups:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines: dict[Key, list[int]] = defaultdict(list)
    for backend, precision, clip, tracks in groups:
        lines[(backend, precision, clip)].append(tracks)
    clips = {clip for _, _, clip in lines}
    figure, axes = plt.subplots(figsize=(7.0, 4.5))
    for (backend, precision, clip), levels in lines.items():
        levels = sorted(levels)
        values = [fmean(r.realtime_factor for r in groups[(backend, precision, clip, n)]) for n in levels]
        label = f"{backend}:{precision}" + (f" {clip:g} s" if len(clips) > 1 else "")
        axes.plot(levels, values, marker="o", label=label)
        for n, value in zip(levels, values, strict=True):
            ratio = vs_one_track(groups, (backend, precision, clip, n))
            if ratio is not None:
                axes.annotate(f"{ratio:.2f}x", (n, value), textcoords="offset points", xytext=(4, 6), size=8)
    axes.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="realtime")
    levels = sorted({n for *_, n in groups})
    axes.set_xticks(levels)
    axes.set_xlabel("tracks generated at once")
    axes.set_ylabel("aggregate realtime factor (labels: x vs 1 track)")
    axes.set_title(f"{report.options.model} on {report.device_name} ({report.device})")
    axes.legend(fontsize=8)
    figure.tight_layout()
    path = output_dir / "concurrency.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return [path]


def plot(report: BenchReport, output_dir: Path) -> list[Path]:
    """`realtime_factor.png` and `ms_per_step.png`: one bar per variant, one group per clip length."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = grouped(report)
    variants = list(dict.fromkeys(f"{b}:{p}" for b, p, _ in groups))
    clips = sorted({clip for _, _, clip in groups})
    written = []
    for metric, label, name in (
        ("realtime_factor", "realtime factor (higher is faster)", "realtime_factor.png"),
        ("ms_per_step", "ms per decoder step (lower is faster)", "ms_per_step.png"),
    ):
        figure, axes = plt.subplots(figsize=(max(6.0, 1.2 * len(variants) + 2), 4.5))
        width = 0.8 / max(1, len(clips))
        for i, clip in enumerate(clips):
            values = []
            for variant in variants:
                backend, precision = variant.split(":")
                rows = groups.get((backend, precision, clip), [])
                values.append(fmean(getattr(r, metric) for r in rows) if rows else 0.0)
            positions = [x + (i - (len(clips) - 1) / 2) * width for x in range(len(variants))]
            bars = axes.bar(positions, values, width, label=f"{clip:g} s clip")
            axes.bar_label(bars, fmt="%.2f" if metric == "realtime_factor" else "%.0f", fontsize=8)
        if metric == "realtime_factor":
            axes.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="realtime")
        axes.set_xticks(range(len(variants)), variants, rotation=20, ha="right")
        axes.set_ylabel(label)
        axes.set_title(f"{report.options.model} on {report.device_name} ({report.device})")
        axes.legend(fontsize=8)
        figure.tight_layout()
        path = output_dir / name
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    return written


def write(report: BenchReport, output_dir: Path) -> list[Path]:
    """`latest.md` and the plots under `output_dir`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    table = output_dir / "latest.md"
    table.write_text(markdown(report))
    return [table, *plot(report, output_dir), *plot_tracks(report, output_dir)]


def _ratio(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{fmean(known):.2f}x" if known else "-"


def _worst(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)
