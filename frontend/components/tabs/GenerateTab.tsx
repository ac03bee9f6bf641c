"use client";

import { type ChangeEvent, type FormEvent, useId, useMemo, useRef, useState } from "react";

import { BatchView } from "@/components/audio/BatchView";
import { LatestGenerations } from "@/components/tabs/LatestGenerations";
import { ErrorMessage, useCountdown } from "@/components/ui/ErrorMessage";
import { button, card, field, fieldBase, label } from "@/components/ui/styles";
import { startGeneration } from "@/lib/actions";
import { ApiError } from "@/lib/api";
import { readAudioSeconds } from "@/lib/audioFile";
import { EXAMPLE_PROMPTS } from "@/lib/examples";
import {
  type Bounds,
  CFG_COEF,
  DEFAULT_DRAFT,
  DURATION,
  minDurationFor,
  NEGATIVE_PROMPT_MAX_LENGTH,
  PROMPT_MAX_LENGTH,
  span,
  TEMPERATURE,
  TOP_K,
  TOP_P,
  toRequest,
  validateDraft,
  validatePromptAudio,
  VARIATION_CHOICES,
  VARIATIONS,
} from "@/lib/generateRequest";
import { formatSecondsUnit } from "@/lib/format";
import { deviceLabel, offeredPlacements, precisionsFor } from "@/lib/options";
import { useAppStore } from "@/lib/store";
import type { GenerateDraft } from "@/types";

function NumberField(props: {
  id: string;
  text: string;
  hint: string;
  value: number;
  bounds: Bounds;
  step: number;
  onChange: (value: number) => void;
}) {
  return (
    <div className="space-y-1">
      <label htmlFor={props.id} className={label}>
        {props.text}
      </label>
      <input
        id={props.id}
        type="number"
        inputMode="decimal"
        className={field}
        value={Number.isFinite(props.value) ? props.value : ""}
        min={props.bounds.min}
        max={props.bounds.max}
        step={props.step}
        onChange={(e) => props.onChange(e.target.value === "" ? Number.NaN : Number(e.target.value))}
        aria-describedby={`${props.id}-hint`}
      />
      <p id={`${props.id}-hint`} className="text-xs text-slate-500 dark:text-slate-400">
        {props.hint}
      </p>
    </div>
  );
}

/**
 * How many variations of the request to make (1 to the service's maximum): a segmented control of
 * radio buttons, so that the arrow keys move between the counts.
 */
function VariationsField(props: { id: string; value: number; seed: string; onChange: (value: number) => void }) {
  const seed = props.seed.trim();
  const hint =
    props.value <= 1
      ? `Up to ${VARIATIONS.max} takes of the same prompt at once, generated together, each with its own seed.`
      : `${props.value} tracks of the same prompt, generated together and shown side by side; ${
          seed ? `seeds ${seed}-${(BigInt(seed) + BigInt(props.value - 1)).toString()}` : "each with its own random seed"
        }.`;
  return (
    <fieldset className="space-y-1" aria-describedby={`${props.id}-hint`}>
      <legend className={label}>Variations</legend>
      <div className="inline-flex rounded-lg border border-slate-300 p-0.5 dark:border-slate-700" data-testid="variations">
        {VARIATION_CHOICES.map((count) => (
          <label key={count} className="cursor-pointer">
            <input
              type="radio"
              name={`${props.id}-variations`}
              value={count}
              checked={props.value === count}
              onChange={() => props.onChange(count)}
              className="peer sr-only"
            />
            <span className="block min-w-10 rounded-md px-3 py-1 text-center text-sm font-medium text-slate-600 tabular-nums transition peer-checked:bg-violet-600 peer-checked:text-white peer-focus-visible:ring-2 peer-focus-visible:ring-violet-500 hover:bg-slate-100 peer-checked:hover:bg-violet-600 dark:text-slate-300 dark:hover:bg-slate-800">
              {count}
            </span>
          </label>
        ))}
      </div>
      <p id={`${props.id}-hint`} className="text-xs text-slate-500 dark:text-slate-400">
        {hint}
      </p>
    </fieldset>
  );
}

/** An audio file to continue, and its length once the browser has read it (null: unknown). */
interface PromptAudio {
  file: File;
  seconds: number | null;
  reading: boolean;
}

/** "Continue my audio": an optional file the new track starts with (its length shown and checked). */
function PromptAudioField(props: {
  id: string;
  audio: PromptAudio | null;
  problem: string | null;
  onPick: (file: File | null) => void;
}) {
  const input = useRef<HTMLInputElement>(null);
  const { audio } = props;
  const clear = () => {
    if (input.current) input.current.value = "";
    props.onPick(null);
  };
  const hint = !audio
    ? "WAV, FLAC, OGG or MP3: the new track starts with it and goes on."
    : audio.reading
      ? "Reading its length…"
      : audio.seconds === null
        ? "This browser cannot tell its length; the service will check it."
        : `The track starts with your ${formatSecondsUnit(audio.seconds)} and goes on: the duration is the whole track, so it must be more than ${formatSecondsUnit(audio.seconds)}.`;
  return (
    <div className="space-y-1">
      <label htmlFor={props.id} className={label}>
        Continue my audio <span className="font-normal text-slate-500 dark:text-slate-400">(optional)</span>
      </label>
      <input
        ref={input}
        id={props.id}
        name="audio"
        type="file"
        accept="audio/*"
        className="block w-full text-sm text-slate-600 file:mr-3 file:rounded-lg file:border-0 file:bg-violet-50 file:px-3 file:py-1.5 file:text-violet-700 dark:text-slate-300 dark:file:bg-violet-950 dark:file:text-violet-300"
        onChange={(e: ChangeEvent<HTMLInputElement>) => props.onPick(e.target.files?.[0] ?? null)}
        aria-describedby={`${props.id}-hint`}
        aria-invalid={props.problem ? true : undefined}
      />
      {audio && (
        <div className="flex flex-wrap items-center gap-2 text-sm" data-testid="prompt-audio">
          <span className="break-all font-medium">{audio.file.name}</span>
          <span className="text-slate-500 tabular-nums dark:text-slate-400">
            {audio.reading ? "…" : audio.seconds === null ? "length unknown" : formatSecondsUnit(audio.seconds)}
          </span>
          <button type="button" className={button.ghost} onClick={clear} aria-label={`Remove ${audio.file.name}`}>
            Remove
          </button>
        </div>
      )}
      <p id={`${props.id}-hint`} className={`text-xs ${props.problem ? "text-rose-600 dark:text-rose-400" : "text-slate-500 dark:text-slate-400"}`}>
        {props.problem ?? hint}
      </p>
    </div>
  );
}

export function GenerateTab() {
  const draft = useAppStore((s) => s.draft);
  const setDraft = useAppStore((s) => s.setDraft);
  const health = useAppStore((s) => s.health);
  const modelStatus = useAppStore((s) => s.modelStatus);
  const [error, setError] = useState<unknown>(null);
  const [submitting, setSubmitting] = useState(false);
  const [promptAudio, setPromptAudio] = useState<PromptAudio | null>(null);
  const pickedFile = useRef<File | null>(null); // the latest pick: a slower read of an earlier one is dropped
  const waitLeft = useCountdown(error instanceof ApiError && error.status === 429 ? error.retryAfter : undefined, error);
  const ids = useId();

  const placements = useMemo(() => offeredPlacements(modelStatus, health), [modelStatus, health]);
  const precisionChoices = precisionsFor(placements, draft.device || placements.defaultDevice);
  const modelState = (health?.model as { status?: string } | undefined)?.status;
  const audioProblem = promptAudio && !promptAudio.reading ? validatePromptAudio(draft.duration, promptAudio.seconds) : null;
  const invalid = validateDraft(draft) ?? audioProblem;
  const minDuration = minDurationFor(promptAudio?.seconds);

  const update = (fields: Partial<GenerateDraft>) => setDraft(fields);

  /** A new file: read its length, and lengthen the track past it if it is not already. */
  const pickAudio = async (file: File | null) => {
    setError(null);
    pickedFile.current = file;
    if (!file) {
      setPromptAudio(null);
      return;
    }
    setPromptAudio({ file, seconds: null, reading: true });
    const seconds = await readAudioSeconds(file);
    if (pickedFile.current !== file) return;
    setPromptAudio({ file, seconds, reading: false });
    const duration = useAppStore.getState().draft.duration;
    if (seconds !== null && seconds < DURATION.max && !(duration > seconds)) update({ duration: minDurationFor(seconds) });
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (invalid) {
      setError(new ApiError(422, "validation_error", invalid, audioProblem === invalid ? { field: "duration" } : {}));
      return;
    }
    setSubmitting(true);
    setError(null);
    try {
      await startGeneration(toRequest(draft), promptAudio?.file);
    } catch (e) {
      setError(e);
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <div className="grid grid-cols-1 gap-6 lg:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]">
      <form onSubmit={submit} className={`${card} space-y-5 lg:col-start-1 lg:row-start-1`} aria-labelledby={`${ids}-title`} noValidate>
        <h2 id={`${ids}-title`} className="text-lg font-semibold">
          Describe your music
        </h2>

        <div className="space-y-2">
          <label htmlFor={`${ids}-prompt`} className={label}>
            Prompt
          </label>
          <textarea
            id={`${ids}-prompt`}
            name="prompt"
            rows={3}
            maxLength={PROMPT_MAX_LENGTH}
            required
            className={`${field} resize-y`}
            placeholder="e.g. lo-fi hip hop beat with warm piano, 90 bpm"
            value={draft.prompt}
            onChange={(e) => update({ prompt: e.target.value })}
            aria-describedby={`${ids}-prompt-count`}
          />
          <p id={`${ids}-prompt-count`} className="text-right text-xs text-slate-500 tabular-nums dark:text-slate-400">
            {draft.prompt.length}/{PROMPT_MAX_LENGTH} characters
          </p>
          <div className="flex flex-wrap gap-2" role="group" aria-label="Example prompts">
            {EXAMPLE_PROMPTS.map((example) => (
              <button
                key={example}
                type="button"
                onClick={() => update({ prompt: example })}
                className="rounded-full border border-slate-300 px-3 py-1 text-xs text-slate-600 transition hover:border-violet-400 hover:text-violet-700 dark:border-slate-700 dark:text-slate-300 dark:hover:border-violet-500 dark:hover:text-violet-300"
              >
                {example}
              </button>
            ))}
          </div>
        </div>

        <div className="space-y-2">
          <div className="flex items-center justify-between">
            <label htmlFor={`${ids}-duration`} className={label}>
              Duration <span className="font-normal text-slate-500 dark:text-slate-400">({span(DURATION)} s)</span>
            </label>
            <div className="flex items-center gap-1.5 text-sm">
              <input
                type="number"
                aria-label="Duration in seconds"
                className={`${fieldBase} w-20 py-1`}
                min={minDuration}
                max={DURATION.max}
                step={1}
                value={draft.duration}
                onChange={(e) => update({ duration: Number(e.target.value) })}
              />
              <span className="text-slate-500">s</span>
            </div>
          </div>
          <input
            id={`${ids}-duration`}
            type="range"
            className="w-full"
            min={minDuration}
            max={DURATION.max}
            step={1}
            value={Math.min(DURATION.max, Math.max(minDuration, draft.duration || minDuration))}
            onChange={(e) => update({ duration: Number(e.target.value) })}
            aria-valuetext={`${draft.duration} seconds`}
          />
        </div>

        <VariationsField id={`${ids}-variations`} value={draft.variations} seed={draft.seed} onChange={(variations) => update({ variations })} />

        <PromptAudioField id={`${ids}-audio`} audio={promptAudio} problem={audioProblem} onPick={(file) => void pickAudio(file)} />

        <div className="grid gap-4 sm:grid-cols-2">
          <div className="space-y-1">
            <label htmlFor={`${ids}-device`} className={label}>
              Device
            </label>
            <select
              id={`${ids}-device`}
              className={field}
              value={draft.device}
              onChange={(e) => update({ device: e.target.value, precision: "" })}
            >
              <option value="">Server default{placements.defaultDevice ? ` (${placements.defaultDevice})` : ""}</option>
              {placements.devices.map((device) => (
                <option key={device} value={device}>
                  {deviceLabel(placements, device)}
                </option>
              ))}
            </select>
          </div>
          <div className="space-y-1">
            <label htmlFor={`${ids}-precision`} className={label}>
              Precision
            </label>
            <select
              id={`${ids}-precision`}
              className={field}
              value={draft.precision}
              onChange={(e) => update({ precision: e.target.value })}
            >
              <option value="">Server default{placements.defaultPrecision && !draft.device ? ` (${placements.defaultPrecision})` : ""}</option>
              {precisionChoices.map((precision) => (
                <option key={precision} value={precision}>
                  {precision}
                </option>
              ))}
            </select>
          </div>
        </div>

        <details className="group rounded-xl border border-slate-200 p-3 dark:border-slate-800">
          <summary className="cursor-pointer select-none text-sm font-medium text-slate-700 dark:text-slate-300">
            Advanced settings
          </summary>
          <div className="mt-4 grid gap-4 sm:grid-cols-2">
            <NumberField id={`${ids}-topk`} text="Top-k" hint={`Sample from the k likeliest tokens, ${span(TOP_K)} (0 turns it off).`} value={draft.top_k} bounds={TOP_K} step={1} onChange={(top_k) => update({ top_k })} />
            <NumberField id={`${ids}-topp`} text="Top-p" hint={`Nucleus sampling, ${span(TOP_P)} (0 turns it off; above 0 it replaces top-k).`} value={draft.top_p} bounds={TOP_P} step={0.05} onChange={(top_p) => update({ top_p })} />
            <NumberField id={`${ids}-temp`} text="Temperature" hint={`Higher is wilder, ${span(TEMPERATURE)}; 0 is greedy.`} value={draft.temperature} bounds={TEMPERATURE} step={0.05} onChange={(temperature) => update({ temperature })} />
            <NumberField id={`${ids}-cfg`} text="Guidance" hint={`How closely to follow the prompt, ${span(CFG_COEF)} (1 turns it off).`} value={draft.cfg_coef} bounds={CFG_COEF} step={0.5} onChange={(cfg_coef) => update({ cfg_coef })} />
            <div className="space-y-1 sm:col-span-2">
              <label htmlFor={`${ids}-negative`} className={label}>
                Negative prompt
              </label>
              <input
                id={`${ids}-negative`}
                className={field}
                placeholder="e.g. vocals, distorted drums"
                maxLength={NEGATIVE_PROMPT_MAX_LENGTH}
                value={draft.negative_prompt}
                onChange={(e) => update({ negative_prompt: e.target.value })}
                aria-describedby={`${ids}-negative-hint`}
              />
              <p id={`${ids}-negative-hint`} className="text-xs text-slate-500 dark:text-slate-400">
                What the music should not be: guidance steers away from it (needs guidance above 1). Empty for nothing.
              </p>
            </div>
            <div className="space-y-1 sm:col-span-2">
              <label htmlFor={`${ids}-seed`} className={label}>
                Seed
              </label>
              <div className="flex gap-2">
                <input
                  id={`${ids}-seed`}
                  inputMode="numeric"
                  className={field}
                  placeholder="random"
                  value={draft.seed}
                  onChange={(e) => update({ seed: e.target.value.replace(/[^\d]/g, "") })}
                  aria-describedby={`${ids}-seed-hint`}
                />
                <button type="button" className={button.secondary} onClick={() => update({ seed: "" })} disabled={!draft.seed}>
                  Random
                </button>
              </div>
              <p id={`${ids}-seed-hint`} className="text-xs text-slate-500 dark:text-slate-400">
                The same seed and settings give the same music. Empty: a new one each time.
              </p>
            </div>
            <div className="sm:col-span-2">
              <button
                type="button"
                className={button.ghost}
                onClick={() =>
                  update({ ...DEFAULT_DRAFT, prompt: draft.prompt, duration: draft.duration, device: draft.device, precision: draft.precision, variations: draft.variations })
                }
              >
                Reset to defaults
              </button>
            </div>
          </div>
        </details>

        {error !== null && (
          <ErrorMessage
            error={error}
            title={error instanceof ApiError && error.errorType === "validation_error" ? "Please check the form" : undefined}
            countedElsewhere
          />
        )}

        <div className="flex flex-wrap items-center gap-3">
          <button type="submit" className={`${button.primary} px-6 py-2.5`} disabled={submitting || waitLeft > 0 || modelState === "error"}>
            {submitting ? "Queuing…" : waitLeft > 0 ? `Try again in ${waitLeft} s` : "Generate"}
          </button>
          {modelState === "error" && <p className="text-sm text-rose-600 dark:text-rose-400">The model is unavailable (see above).</p>}
          {modelState === "loading" && <p className="text-sm text-slate-500">The model is loading; your job will wait in the queue.</p>}
        </div>
      </form>

      {/* After the form on a phone; under both, the whole width, on a wide screen. */}
      <BatchView className="lg:col-span-2 lg:row-start-2" />

      <LatestGenerations className="lg:col-start-2 lg:row-start-1" />
    </div>
  );
}
