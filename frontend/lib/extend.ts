// Extending a finished track (POST /generate with `continue_from`): how many seconds may be added, the
// request's body, and how a continuation names the track it extends. The bounds are the service's own
// (types/api.constants.ts): the whole result, not the part added, must stay within the duration maximum.
import { DEFAULT_VARIATIONS, DURATION } from "@/lib/generateRequest";
import { formatSeconds } from "@/lib/format";
import type { GenerateRequest, Generation } from "@/types";

/** What the form offers first: ten more seconds (or as many as the maximum leaves). */
export const EXTEND_DEFAULT_S = 10;
/** The least one may add: a whole second (the result must be longer than the audio it continues). */
export const EXTEND_MIN_S = 1;

/** The length the result will have: the track's own plus what is added, in whole seconds. */
export const extendedDuration = (duration: number, added: number): number => Math.round(duration + added);

/**
 * The most whole seconds that may be added to a track of `duration` seconds so that the result, rounded,
 * stays within the service's maximum (0 when not even one more second fits).
 */
export function maxExtension(duration: number): number {
  if (!Number.isFinite(duration)) return 0;
  let most = Math.max(0, Math.floor(DURATION.max - duration + 0.5));
  while (most > 0 && extendedDuration(duration, most) > DURATION.max) most -= 1;
  return most >= EXTEND_MIN_S ? most : 0;
}

/** The fewest whole seconds to add: one, or more for a track whose result would be under the minimum. */
export function minExtension(duration: number): number {
  return Math.max(EXTEND_MIN_S, Math.ceil(DURATION.min - 0.5 - duration));
}

/** What the form starts with: ten seconds, or what the bounds still allow. */
export const defaultExtension = (duration: number): number =>
  Math.max(minExtension(duration), Math.min(EXTEND_DEFAULT_S, maxExtension(duration)));

/** Why `added` seconds cannot be added to this track (null: they can). */
export function validateExtension(generation: Generation, added: number): string | null {
  if (generation.status !== "succeeded") return "Only a finished track can be extended.";
  const least = minExtension(generation.duration);
  const most = maxExtension(generation.duration);
  if (most < least) return cannotExtend(generation.duration);
  if (!(Number.isInteger(added) && added >= least && added <= most)) {
    return `Add a whole number of seconds, ${least}-${most} (the whole track can be at most ${DURATION.max} s).`;
  }
  return null;
}

/** The sentence for a track that is already as long as the service makes them. */
export function cannotExtend(duration: number): string {
  return `This track is ${formatSeconds(duration)} long: the service makes tracks of at most ${formatSeconds(DURATION.max)}, so it cannot be extended.`;
}

/**
 * The body of POST /generate that extends a finished track by `added` seconds: the same prompt and
 * sampling settings, the whole result's duration, the track to continue, and a new random seed.
 */
export function extendRequest(generation: Generation, added: number): GenerateRequest {
  return {
    prompt: generation.prompt,
    duration: extendedDuration(generation.duration, added),
    continue_from: generation.generation_id,
    top_k: generation.top_k,
    top_p: generation.top_p,
    temperature: generation.temperature,
    cfg_coef: generation.cfg_coef,
    variations: DEFAULT_VARIATIONS,
  };
}

const PROMPT_IN_LABEL = 60;

/** A prompt short enough for a label ("lo-fi piano with…"). */
export function shortPrompt(prompt: string, max = PROMPT_IN_LABEL): string {
  const text = prompt.trim().replace(/\s+/g, " ");
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

/** Where a continuation comes from: its parent (quoted, or "another track") and where the new music starts. */
export function continuationParts(
  generation: Pick<Generation, "parent_id" | "prompt_seconds">,
  parentPrompt?: string | null,
): { parent: string; from: string | null } | null {
  if (!generation.parent_id) return null;
  const parent = parentPrompt ? `“${shortPrompt(parentPrompt)}”` : "another track";
  const seconds = generation.prompt_seconds;
  return { parent, from: seconds === null || seconds === undefined ? null : formatSeconds(seconds) };
}

/**
 * What a continuation says about its origin: `Extends “lo-fi piano” (continued from 0:05)`, the time
 * being where the new music starts (the seconds of the parent it began with). Null for a track that
 * extends nothing; "another track" while (or when) the parent's prompt is unknown; for a track that continues
 * an uploaded file, says so.
 */
export function continuationLabel(generation: Pick<Generation, "parent_id" | "prompt_seconds">, parentPrompt?: string | null): string | null {
  const parts = continuationParts(generation, parentPrompt);
  if (!parts) {
    const seconds = generation.prompt_seconds; // no parent: it continues an uploaded file
    return seconds === null || seconds === undefined ? null : `Continues an uploaded file (new music from ${formatSeconds(seconds)})`;
  }
  return `Extends ${parts.parent}${parts.from ? ` (continued from ${parts.from})` : ""}`;
}
