"use client";

import { AnimatePresence, motion } from "motion/react";
import { type KeyboardEvent, useEffect, useId, useLayoutEffect, useRef, useState } from "react";
import WaveSurfer from "wavesurfer.js";

import { ExtendForm, ExtendToggle, useParentPrompt } from "@/components/audio/Extend";
import { FavoriteButton } from "@/components/audio/FavoriteButton";
import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { button, fieldBase } from "@/components/ui/styles";
import { downloadGeneration } from "@/lib/actions";
import { api, ApiError } from "@/lib/api";
import { continuationParts } from "@/lib/extend";
import { formatDate, formatMegabytes, formatRtf, formatSeconds, formatSecondsUnit, isRandomModel } from "@/lib/format";
import { loadPeaks } from "@/lib/peaks";
import { PlayCounter } from "@/lib/playCounter";
import { useAppStore } from "@/lib/store";
import type { AudioFormat, Generation } from "@/types";
import { AUDIO_FORMATS } from "@/types";
import { config, debugLog } from "@/utils/config";

const SKIP_S = 5;
/** Slices of the waveform asked of the service (about two per pixel of a wide player). */
const WAVEFORM_PEAKS = 1000;

/**
 * The parameters and figures of a track; a figure the service has not measured shows a dash. A
 * continuation names the track it extends (its prompt when known) and where its new music starts.
 */
export function detailRows(generation: Generation, parentPrompt?: string | null): [string, string][] {
  const rtf = generation.realtime_factor === null ? "" : ` (${formatRtf(generation.realtime_factor)})`;
  const origin = continuationParts(generation, parentPrompt);
  return [
    ["Duration", `${formatSecondsUnit(generation.duration)} (asked ${generation.duration_requested} s)`],
    ...(generation.negative_prompt ? [["Negative prompt", generation.negative_prompt] as [string, string]] : []),
    ...(origin ? [["Extends", origin.from ? `${origin.parent}, continued from ${origin.from}` : origin.parent] as [string, string]] : []),
    ["Model", `${generation.model} (${generation.backend})`],
    ["Device · precision", `${generation.device} · ${generation.precision}`],
    ...(generation.worker ? [["Worker", generation.worker] as [string, string]] : []),
    ["Seed", generation.seed === null ? "–" : String(generation.seed)],
    ["Top-k · top-p", `${generation.top_k} · ${generation.top_p}`],
    ["Temperature · guidance", `${generation.temperature} · ${generation.cfg_coef}`],
    ["Sample rate", generation.sample_rate === null ? "–" : `${generation.sample_rate} Hz`],
    ["Generated in", `${formatSecondsUnit(generation.generation_time, 2)}${rtf}`],
    ["Decoder windows", generation.windows === null ? "–" : String(generation.windows)],
    ["File", formatMegabytes(generation.file_size_mb)],
    ["Plays · downloads", `${generation.play_count} · ${generation.download_count}`],
    ["Created", formatDate(generation.created_at)],
  ];
}

function Details({ generation }: { generation: Generation }) {
  const parentPrompt = useParentPrompt(generation.parent_id);
  return (
    <dl className="grid grid-cols-1 gap-x-6 text-xs sm:grid-cols-2 lg:grid-cols-3" data-testid="player-details">
      {detailRows(generation, parentPrompt).map(([name, value]) => (
        <div key={name} className="flex justify-between gap-3 border-b border-slate-100 py-0.5 dark:border-slate-800">
          <dt className="text-slate-500 dark:text-slate-400">{name}</dt>
          <dd className="text-right font-medium tabular-nums">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Format and download of one track; `name` tells several apart (the button says "Download Variation 2"). */
export function Downloader({ id, name }: { id: string; name?: string }) {
  const ids = useId();
  // The smallest file by default (typed against the service's enum of formats).
  const [format, setFormat] = useState<AudioFormat>("mp3");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  return (
    <div className="flex flex-wrap items-center gap-2" role="group" aria-label={name ? `Download ${name}` : "Download"}>
      <label htmlFor={`${ids}-format`} className="sr-only">
        {name ? `Download format of ${name}` : "Download format"}
      </label>
      <select id={`${ids}-format`} className={`${fieldBase} py-1.5`} value={format} onChange={(e) => setFormat(e.target.value as AudioFormat)}>
        {AUDIO_FORMATS.map((f) => (
          <option key={f} value={f}>
            {f.toUpperCase()}
          </option>
        ))}
      </select>
      <button
        type="button"
        className={button.secondary}
        disabled={busy}
        aria-label={name ? `Download ${name}` : undefined}
        data-testid="download-button"
        onClick={async () => {
          setBusy(true);
          setError(null);
          setSaved(null);
          try {
            setSaved(await downloadGeneration(id, format));
          } catch (e) {
            setError(e);
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? "Preparing…" : "Download"}
      </button>
      <span className="sr-only" aria-live="polite">
        {saved ? `Downloaded ${saved}` : ""}
      </span>
      {error !== null && (
        <div className="basis-full">
          <ErrorMessage error={error} />
        </div>
      )}
    </div>
  );
}

/** The player: waveform (seeking streams through HTTP Range), play counting, favourite, download, details. */
export function Player() {
  const currentId = useAppStore((s) => s.currentId);
  const generation = useAppStore((s) => (s.currentId ? s.generations[s.currentId] : undefined));
  const autoplay = useAppStore((s) => s.autoplay);
  const loadedModel = useAppStore((s) => s.modelStatus?.model ?? null);
  const waveRef = useRef<HTMLDivElement>(null);
  const dockRef = useRef<HTMLElement>(null);
  const audioRef = useRef<HTMLAudioElement | null>(null);
  const [playing, setPlaying] = useState(false);
  const [time, setTime] = useState(0);
  const [length, setLength] = useState(0);
  const [ready, setReady] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState(false);
  // The extend form belongs to the track it was opened for (another track in the player closes it).
  const [extendingId, setExtendingId] = useState<string | null>(null);
  const extending = extendingId !== null && extendingId === currentId;
  const ids = useId();
  const playable = generation?.status === "succeeded";

  useEffect(() => {
    if (!currentId || !playable || !waveRef.current) return;
    const id = currentId;
    const url = new URL(api.audioUrl(id), window.location.href).href;
    const aborter = new AbortController();
    // The media element streams the file itself: playing and seeking go through HTTP Range.
    const audio = document.createElement("audio");
    audio.preload = "metadata";
    if (config.apiUrl) audio.crossOrigin = "anonymous";
    audio.dataset.testid = "player-audio";
    audio.hidden = true;
    waveRef.current.parentElement?.appendChild(audio);
    audioRef.current = audio;
    setReady(false);
    setPlaying(false);
    setTime(0);
    setError(null);
    const known = useAppStore.getState().generations[id];
    setLength(known?.duration ?? 0);

    const counter = new PlayCounter(known?.duration ?? 0, (listened) => {
      api
        .trackPlay(id, listened)
        .then((answer) => useAppStore.getState().patch(id, { play_count: answer.play_count, last_played: answer.last_played }))
        .catch((e) => {
          debugLog("track-play failed", e);
          setError(e);
        });
    });

    const ws = WaveSurfer.create({
      container: waveRef.current,
      media: audio,
      height: 56,
      waveColor: "#94a3b8",
      progressColor: "#7c3aed",
      cursorColor: "#7c3aed",
      barWidth: 2,
      barGap: 1,
      barRadius: 2,
      normalize: true,
      dragToSeek: true,
    });
    // The source only now: wavesurfer.js would fetch and decode the whole file of a media element that
    // already had one. The peaks below keep it from fetching the audio at all.
    audio.src = url;

    const onTime = () => {
      setTime(audio.currentTime);
      counter.update(audio.currentTime, !audio.paused && !audio.seeking);
    };
    const onSeeking = () => counter.seeked(audio.currentTime);
    // The store mirrors the element: lists mark the track as playing, and their buttons pause it.
    const onPlay = () => {
      setPlaying(true);
      useAppStore.getState().setPlaying(true);
    };
    const onPause = () => {
      setPlaying(false);
      useAppStore.getState().setPlaying(false);
    };
    const onMeta = () => Number.isFinite(audio.duration) && setLength(audio.duration);
    const onError = () => setError(new ApiError(0, "media_error", "The audio could not be loaded: it may have been deleted, or the service is unreachable."));
    audio.addEventListener("timeupdate", onTime);
    audio.addEventListener("seeking", onSeeking);
    audio.addEventListener("play", onPlay);
    audio.addEventListener("pause", onPause);
    audio.addEventListener("ended", onPause);
    audio.addEventListener("loadedmetadata", onMeta);
    audio.addEventListener("error", onError);
    ws.on("ready", (duration) => {
      setReady(true);
      if (duration) setLength(duration);
    });
    ws.on("error", (e) => debugLog("waveform error", e));
    // The service sends the waveform's peaks (min and max per slice: the bottom and the top half), so
    // the page never downloads the whole file for it; the media element keeps streaming the URL.
    // A service without /peaks: decode the file here instead.
    api
      .peaks(id, WAVEFORM_PEAKS, aborter.signal)
      .then((peaks) => ({ channels: [peaks.max, peaks.min], duration: peaks.duration }))
      .catch((e) => {
        if (aborter.signal.aborted) throw e;
        debugLog("no peaks from the service; decoding the audio", e);
        return loadPeaks(url, aborter.signal).then(({ peaks, duration }) => ({ channels: [peaks], duration }));
      })
      .then(({ channels, duration }) => ws.load(url, channels, duration))
      .catch((e) => {
        if (!aborter.signal.aborted) debugLog("no waveform", e);
      });

    if (useAppStore.getState().autoplay) {
      audio.play().catch((e) => {
        debugLog("autoplay refused", e);
        useAppStore.getState().setPlaying(false);
      });
    }

    return () => {
      aborter.abort();
      audio.removeEventListener("timeupdate", onTime);
      audio.removeEventListener("seeking", onSeeking);
      audio.removeEventListener("play", onPlay);
      audio.removeEventListener("pause", onPause);
      audio.removeEventListener("ended", onPause);
      audio.removeEventListener("loadedmetadata", onMeta);
      audio.removeEventListener("error", onError);
      ws.destroy();
      audio.pause();
      audio.removeAttribute("src");
      audio.load();
      audio.remove();
      audioRef.current = null;
    };
  }, [currentId, playable]);

  // The page keeps room for the dock (its height changes with the details), so nothing hides behind it.
  useLayoutEffect(() => {
    const dock = dockRef.current;
    const root = document.documentElement;
    if (!dock) return;
    const apply = () => root.style.setProperty("--player-h", `${dock.offsetHeight}px`);
    apply();
    const observer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(apply);
    observer?.observe(dock);
    return () => {
      observer?.disconnect();
      root.style.setProperty("--player-h", "0px");
    };
  }, [currentId]);

  // A later request to play or pause the same track (the play button of a list).
  useEffect(() => {
    const audio = audioRef.current;
    if (!audio) return;
    if (autoplay && audio.paused) audio.play().catch(() => useAppStore.getState().setPlaying(false));
    else if (!autoplay && !audio.paused) audio.pause();
  }, [autoplay, currentId]);

  if (!generation) return null;
  // The header warns about the loaded model once; a track of another random-weight model says so here.
  const random = generation.model !== loadedModel && isRandomModel(generation.model);

  const toggle = () => {
    const audio = audioRef.current;
    if (!audio) return;
    if (audio.paused) {
      useAppStore.setState({ autoplay: true });
      audio.play().catch((e) => {
        useAppStore.getState().setPlaying(false);
        setError(new ApiError(0, "media_error", `The browser would not play the audio: ${e instanceof Error ? e.message : e}`));
      });
    } else useAppStore.getState().pause();
  };
  const seekBy = (seconds: number) => {
    const audio = audioRef.current;
    if (!audio) return;
    audio.currentTime = Math.min(Math.max(0, audio.currentTime + seconds), length || audio.duration || 0);
  };
  const onWaveKey = (event: KeyboardEvent) => {
    const audio = audioRef.current;
    if (!audio) return;
    const keys: Record<string, () => void> = {
      ArrowLeft: () => seekBy(-SKIP_S),
      ArrowRight: () => seekBy(SKIP_S),
      Home: () => (audio.currentTime = 0),
      End: () => (audio.currentTime = Math.max(0, (length || audio.duration) - 0.1)),
      " ": toggle,
      Enter: toggle,
    };
    const action = keys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  };

  return (
    <motion.section
      ref={dockRef}
      aria-label="Player"
      data-testid="player"
      data-generation-id={generation.generation_id}
      initial={{ y: 40, opacity: 0 }}
      animate={{ y: 0, opacity: 1 }}
      className="fixed inset-x-0 bottom-0 z-30 border-t border-slate-200 bg-white/95 shadow-[0_-8px_24px_-12px_rgba(15,23,42,0.25)] backdrop-blur dark:border-slate-800 dark:bg-slate-900/95"
    >
      <div className="mx-auto max-w-6xl space-y-2 px-3 py-3 sm:px-6">
        <div className="flex items-center gap-3">
          <button
            type="button"
            onClick={toggle}
            disabled={!playable}
            aria-label={playing ? "Pause" : "Play"}
            data-testid="player-toggle"
            className="grid size-11 shrink-0 place-items-center rounded-full bg-violet-600 text-lg text-white shadow hover:bg-violet-500 disabled:opacity-50"
          >
            <span aria-hidden>{playing ? "❚❚" : "▶"}</span>
          </button>
          <div className="min-w-0 flex-1">
            <p className="line-clamp-2 text-sm font-semibold break-words" title={generation.prompt} data-testid="player-prompt">
              {generation.prompt}
            </p>
            <p className="text-xs text-slate-500 tabular-nums dark:text-slate-400">
              <span data-testid="player-time">{formatSeconds(time)}</span> / {formatSeconds(length)}
              {random && <span className="ml-2 font-semibold text-amber-600 dark:text-amber-400">random weights: noise</span>}
            </p>
          </div>
          <FavoriteButton id={generation.generation_id} />
          <button type="button" className={button.ghost} onClick={() => setOpen((o) => !o)} aria-expanded={open} aria-controls={`${ids}-details`}>
            <span aria-hidden className="sm:hidden">
              ⓘ
            </span>
            <span className="sr-only sm:not-sr-only">{open ? "Hide details" : "Details"}</span>
          </button>
          <button type="button" className={button.ghost} onClick={() => useAppStore.getState().closePlayer()} aria-label="Close the player">
            ✕
          </button>
        </div>

        <div className="relative">
          <div
            ref={waveRef}
            role="slider"
            tabIndex={0}
            aria-label="Seek (left and right arrows skip 5 s)"
            aria-valuemin={0}
            aria-valuemax={Math.round(length)}
            aria-valuenow={Math.round(time)}
            aria-valuetext={`${formatSeconds(time)} of ${formatSeconds(length)}`}
            onKeyDown={onWaveKey}
            data-testid="waveform"
            className="min-h-14 cursor-pointer rounded-md"
          />
          {!ready && playable && <p className="absolute inset-0 grid place-items-center text-xs text-slate-500">Loading waveform…</p>}
        </div>

        {playable && (
          <div className="flex flex-wrap items-center gap-2">
            <Downloader id={generation.generation_id} />
            <button type="button" className={button.secondary} onClick={() => useAppStore.getState().reuse(generation)}>
              ↻ Generate again with this seed
            </button>
            <ExtendToggle generation={generation} open={extending} onToggle={() => setExtendingId(extending ? null : currentId)} />
            {extending && (
              <div className="basis-full">
                <ExtendForm key={generation.generation_id} generation={generation} onClose={() => setExtendingId(null)} />
              </div>
            )}
          </div>
        )}

        {error !== null && <ErrorMessage error={error} />}

        <AnimatePresence initial={false}>
          {open && (
            <motion.div
              id={`${ids}-details`}
              role="region"
              aria-label="Track details"
              tabIndex={0}
              initial={{ height: 0, opacity: 0 }}
              animate={{ height: "auto", opacity: 1 }}
              exit={{ height: 0, opacity: 0 }}
              className="max-h-[min(11rem,25vh)] space-y-2 overflow-y-auto rounded-md pr-1"
              data-testid="player-details-panel"
            >
              <p className="text-xs break-words">
                <span className="font-medium">Prompt: </span>
                {generation.prompt}
              </p>
              <Details generation={generation} />
            </motion.div>
          )}
        </AnimatePresence>
      </div>
    </motion.section>
  );
}
