// From the Generate form to the body of POST /generate (and what is wrong with the form, if anything).
// Every bound and default is the service's own, from its OpenAPI document (types/api.constants.ts).
import { formatSecondsUnit } from "@/lib/format";
import { API_SCHEMAS } from "@/types/api.constants";
import type { GenerateDraft, GenerateRequest } from "@/types";
import { isPrecision } from "@/types";

const FIELDS = API_SCHEMAS.GenerateRequest;

export interface Bounds {
  min: number;
  max: number;
}

export const PROMPT_MAX_LENGTH = FIELDS.prompt.maxLength;
export const NEGATIVE_PROMPT_MAX_LENGTH = FIELDS.negative_prompt.maxLength;
export const DURATION: Bounds = { min: FIELDS.duration.minimum, max: FIELDS.duration.maximum };
export const TOP_K: Bounds = { min: FIELDS.top_k.minimum, max: FIELDS.top_k.maximum };
export const TOP_P: Bounds = { min: FIELDS.top_p.minimum, max: FIELDS.top_p.maximum };
export const TEMPERATURE: Bounds = { min: FIELDS.temperature.minimum, max: FIELDS.temperature.maximum };
export const CFG_COEF: Bounds = { min: FIELDS.cfg_coef.minimum, max: FIELDS.cfg_coef.maximum };
/** How many tracks one request makes (variations of the same prompt, generated together). */
export const VARIATIONS: Bounds = { min: FIELDS.variations.minimum, max: FIELDS.variations.maximum };
/** One track: what the form starts with, and what an extension asks for. */
export const DEFAULT_VARIATIONS: number = FIELDS.variations.default;
/** The counts the form offers, 1 to the service's maximum. */
export const VARIATION_CHOICES: readonly number[] = Array.from({ length: VARIATIONS.max - VARIATIONS.min + 1 }, (_, i) => VARIATIONS.min + i);
/** The service takes a 64-bit seed; a page can only write whole numbers up to 2^53 - 1 exactly. */
export const MAX_SEED = Math.min(FIELDS.seed.maximum, Number.MAX_SAFE_INTEGER);

/** A range as the hints and messages write it: "min-max". */
export const span = ({ min, max }: Bounds): string => `${min}-${max}`;
const within = (value: number, { min, max }: Bounds): boolean => value >= min && value <= max;

/** A fresh form: the service's defaults, no prompt, the server's device and precision, a random seed. */
export const DEFAULT_DRAFT: GenerateDraft = {
  prompt: "",
  negative_prompt: "",
  duration: FIELDS.duration.default,
  device: "",
  precision: "",
  top_k: FIELDS.top_k.default,
  top_p: FIELDS.top_p.default,
  temperature: FIELDS.temperature.default,
  cfg_coef: FIELDS.cfg_coef.default,
  seed: "",
  variations: DEFAULT_VARIATIONS,
};

export function validateDraft(draft: GenerateDraft): string | null {
  if (!draft.prompt.trim()) return "Describe the music you want in the prompt.";
  if (draft.prompt.length > PROMPT_MAX_LENGTH) return `The prompt can be at most ${PROMPT_MAX_LENGTH} characters.`;
  if (!within(draft.duration, DURATION)) return `The duration must be ${span(DURATION)} seconds.`;
  if (!(within(draft.top_k, TOP_K) && Number.isInteger(draft.top_k))) return `Top-k must be a whole number ${span(TOP_K)}.`;
  if (!within(draft.top_p, TOP_P)) return `Top-p must be ${span(TOP_P)}.`;
  if (!within(draft.temperature, TEMPERATURE)) return `Temperature must be ${span(TEMPERATURE)}.`;
  if (!within(draft.cfg_coef, CFG_COEF)) return `Guidance must be ${span(CFG_COEF)}.`;
  if (!(within(draft.variations, VARIATIONS) && Number.isInteger(draft.variations))) return `Variations must be a whole number ${span(VARIATIONS)}.`;
  if (draft.negative_prompt.length > NEGATIVE_PROMPT_MAX_LENGTH) return `The negative prompt can be at most ${NEGATIVE_PROMPT_MAX_LENGTH} characters.`;
  if (draft.negative_prompt.trim() && !(draft.cfg_coef > 1)) return "A negative prompt needs guidance above 1: guidance is what steers away from it.";
  if (draft.precision && !isPrecision(draft.precision)) return `The service does not know the precision ${draft.precision}.`;
  const seed = draft.seed.trim();
  if (seed && !(/^\d+$/.test(seed) && Number(seed) <= MAX_SEED)) return `The seed must be a whole number 0-${MAX_SEED}, or empty for a random one.`;
  return null;
}

export function toRequest(draft: GenerateDraft): GenerateRequest {
  const seed = draft.seed.trim();
  const negative = draft.negative_prompt.trim();
  return {
    prompt: draft.prompt.trim(),
    ...(negative ? { negative_prompt: negative } : {}),
    duration: draft.duration,
    ...(draft.device ? { device: draft.device } : {}),
    ...(isPrecision(draft.precision) ? { precision: draft.precision } : {}),
    top_k: draft.top_k,
    top_p: draft.top_p,
    temperature: draft.temperature,
    cfg_coef: draft.cfg_coef,
    ...(seed ? { seed: Number(seed) } : {}),
    variations: draft.variations,
  };
}

/** The shortest whole-second duration that continues `seconds` of audio: the track must be longer. */
export function minDurationFor(seconds: number | null | undefined): number {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return DURATION.min;
  return Math.max(DURATION.min, Math.floor(seconds) + 1);
}

/** What is wrong with continuing `seconds` of audio to a `duration`-second track, if anything. */
export function validatePromptAudio(duration: number, seconds: number | null | undefined): string | null {
  if (seconds === null || seconds === undefined) return null; // the browser could not tell: the service checks
  const length = formatSecondsUnit(seconds);
  if (seconds >= DURATION.max) return `Your audio is ${length}: it must be shorter than ${DURATION.max} s, the longest track.`;
  if (!(duration > seconds)) return `The duration is the whole track, your ${length} included: make it more than ${length}.`;
  return null;
}
