"use client";
// Extending a finished track (a continuation of its audio), and what a continuation says about the
// track it extends.
import { type FormEvent, useEffect, useId, useState } from "react";

import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { button, fieldBase } from "@/components/ui/styles";
import { extendGeneration, lookUpGeneration } from "@/lib/actions";
import { ApiError } from "@/lib/api";
import { cannotExtend, continuationLabel, defaultExtension, extendedDuration, maxExtension, minExtension, validateExtension } from "@/lib/extend";
import { formatSeconds } from "@/lib/format";
import { useAppStore } from "@/lib/store";
import type { Generation } from "@/types";

/** The prompt of the track a continuation extends (looked up once when the page has not seen it). */
export function useParentPrompt(parentId: string | null | undefined): string | null {
  const prompt = useAppStore((s) => (parentId ? (s.generations[parentId]?.prompt ?? null) : null));
  useEffect(() => {
    if (parentId && prompt === null) void lookUpGeneration(parentId);
  }, [parentId, prompt]);
  return prompt;
}

/** "Extends “lo-fi piano” (continued from 0:05)" under a continuation's prompt; nothing for other tracks. */
export function ContinuationNote({ generation, className = "" }: { generation: Generation; className?: string }) {
  const parentPrompt = useParentPrompt(generation.parent_id);
  const text = continuationLabel(generation, parentPrompt);
  if (!text) return null;
  return (
    <p
      className={`text-xs break-words text-violet-700 dark:text-violet-300 ${className}`}
      title={parentPrompt ?? undefined}
      data-testid="continuation"
      data-parent-id={generation.parent_id ?? undefined}
    >
      <span aria-hidden>↪ </span>
      {text}
    </p>
  );
}

/** The button that opens the form (its name says which track: "Extend lo-fi piano"). */
export function ExtendToggle({ generation, open, onToggle }: { generation: Generation; open: boolean; onToggle: () => void }) {
  return (
    <button
      type="button"
      className={button.ghost}
      onClick={onToggle}
      aria-expanded={open}
      aria-label={`Extend ${generation.prompt}`}
      title="Continue this track: its audio, then more"
      data-testid="extend-toggle"
    >
      <span aria-hidden>⤳</span> Extend
    </button>
  );
}

/**
 * How many seconds to add (whole seconds, so that the whole track stays within the service's maximum);
 * "Extend" queues the continuation and opens the Generate tab, where its progress shows. A track at the
 * maximum says it cannot be extended.
 */
export function ExtendForm({ generation, onClose }: { generation: Generation; onClose: () => void }) {
  const ids = useId();
  const least = minExtension(generation.duration);
  const most = maxExtension(generation.duration);
  const [added, setAdded] = useState(() => String(defaultExtension(generation.duration)));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const box = "flex flex-wrap items-center gap-2 rounded-lg border border-violet-200 bg-violet-50/60 p-2 text-sm dark:border-violet-900 dark:bg-violet-950/30";

  if (most < least) {
    return (
      <div className={box} role="note" data-testid="extend-form">
        <p className="min-w-0 flex-1 basis-48" data-testid="extend-impossible">
          {cannotExtend(generation.duration)}
        </p>
        <button type="button" className={button.ghost} onClick={onClose}>
          Close
        </button>
      </div>
    );
  }

  const seconds = Number(added);
  const valid = added.trim() !== "" && validateExtension(generation, seconds) === null;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const invalid = added.trim() === "" ? `Say how many seconds to add, ${least}-${most}.` : validateExtension(generation, seconds);
    if (invalid) {
      setError(new ApiError(422, "validation_error", invalid, { field: "duration" }));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await extendGeneration(generation, seconds);
      onClose();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} className={box} aria-label={`Extend ${generation.prompt}`} data-testid="extend-form" noValidate>
      <label htmlFor={`${ids}-seconds`} className="font-medium">
        Add
      </label>
      <input
        id={`${ids}-seconds`}
        type="number"
        inputMode="numeric"
        aria-label="Seconds to add"
        className={`${fieldBase} w-20 py-1`}
        min={least}
        max={most}
        step={1}
        value={added}
        onChange={(e) => setAdded(e.target.value)}
        aria-describedby={`${ids}-total`}
        aria-invalid={!valid}
      />
      <span>s</span>
      <span id={`${ids}-total`} className="text-xs text-slate-500 tabular-nums dark:text-slate-400" data-testid="extend-total">
        {valid ? `→ ${formatSeconds(extendedDuration(generation.duration, seconds))} in all` : `${least}-${most} s`} (at most {formatSeconds(extendedDuration(generation.duration, most))})
      </span>
      <div className="ml-auto flex gap-1">
        <button type="submit" className={`${button.primary} py-1.5`} disabled={busy}>
          {busy ? "Queuing…" : "Extend"}
        </button>
        <button type="button" className={button.ghost} onClick={onClose} disabled={busy}>
          Cancel
        </button>
      </div>
      {error !== null && (
        <div className="basis-full">
          <ErrorMessage error={error} title={error instanceof ApiError && error.errorType === "validation_error" ? "Please check the seconds" : "Could not extend it"} />
        </div>
      )}
    </form>
  );
}
