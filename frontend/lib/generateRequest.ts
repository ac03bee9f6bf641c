// From the Generate form to the body of POST /generate (and what is wrong with the form, if anything).
import type { GenerateDraft, GenerateRequest } from "@/types";

export const MIN_DURATION = 5;
export const MAX_DURATION = 120;
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

export function validateDraft(draft: GenerateDraft): string | null {
  if (!draft.prompt.trim()) return "Describe the music you want in the prompt.";
  if (draft.prompt.length > 2000) return "The prompt can be at most 2000 characters.";
  if (!(draft.duration >= MIN_DURATION && draft.duration <= MAX_DURATION)) {
    return `The duration must be ${MIN_DURATION}-${MAX_DURATION} seconds.`;
  }
  if (!(draft.top_k >= 0 && draft.top_k <= 2048 && Number.isInteger(draft.top_k))) return "Top-k must be a whole number 0-2048.";
  if (!(draft.top_p >= 0 && draft.top_p <= 1)) return "Top-p must be 0-1.";
  if (!(draft.temperature >= 0 && draft.temperature <= 10)) return "Temperature must be 0-10.";
  if (!(draft.cfg_coef >= 1 && draft.cfg_coef <= 20)) return "Guidance must be 1-20.";
  const seed = draft.seed.trim();
  if (seed && !(/^\d+$/.test(seed) && Number(seed) <= MAX_SEED)) return `The seed must be a whole number 0-${MAX_SEED}, or empty for a random one.`;
  return null;
}

export function toRequest(draft: GenerateDraft): GenerateRequest {
  const seed = draft.seed.trim();
  return {
    prompt: draft.prompt.trim(),
    duration: draft.duration,
    ...(draft.device ? { device: draft.device } : {}),
    ...(draft.precision ? { precision: draft.precision } : {}),
    top_k: draft.top_k,
    top_p: draft.top_p,
    temperature: draft.temperature,
    cfg_coef: draft.cfg_coef,
    ...(seed ? { seed: Number(seed) } : {}),
  };
}
