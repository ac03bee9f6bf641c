// The app's types: the service's own (generated from its OpenAPI document) plus a few of the UI's.
import type { components } from "./api.generated";

type Schemas = components["schemas"];

export type Generation = Schemas["Generation"];
export type GenerationList = Schemas["GenerationList"];
export type GenerateRequest = Schemas["GenerateRequest"];
export type Progress = Schemas["Progress"];
export type Stats = Schemas["Stats"];
export type DayStats = Schemas["DayStats"];
export type DeviceStats = Schemas["DeviceStats"];
export type Health = Schemas["Health"];
export type ModelStatus = Schemas["ModelStatus"];
export type DeviceOption = Schemas["DeviceOption"];
export type Peaks = Schemas["Peaks"];
export type TrackPlayResponse = Schemas["TrackPlayResponse"];
export type FavoriteResponse = Schemas["FavoriteResponse"];

export type GenerationStatus = "queued" | "running" | "succeeded" | "failed" | "canceled";
export const ACTIVE_STATUSES: readonly string[] = ["queued", "running"];
export const FINISHED_STATUSES: readonly string[] = ["succeeded", "failed", "canceled"];

export type AudioFormat = "wav" | "flac" | "ogg" | "mp3";
export const AUDIO_FORMATS: readonly AudioFormat[] = ["wav", "flac", "ogg", "mp3"];

/**
 * One `progress` server-sent event of `GET /generations/{id}/events`: while the job waits, its new
 * `queue_position` (step 0); while it runs, step and ETA (`queue_position` null).
 */
export interface ProgressEvent {
  generation_id: string;
  step: number;
  total_steps: number;
  fraction: number;
  elapsed_s: number;
  eta_s: number | null;
  queue_position?: number | null;
}

export type Tab = "generate" | "history" | "popular" | "stats";
export const TABS: readonly Tab[] = ["generate", "history", "popular", "stats"];

/** What the Generate form holds (numbers as the form edits them). */
export interface GenerateDraft {
  prompt: string;
  duration: number;
  device: string;
  precision: string;
  top_k: number;
  top_p: number;
  temperature: number;
  cfg_coef: number;
  seed: string;
}
