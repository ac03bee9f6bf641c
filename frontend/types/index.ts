// The app's types: the service's own (generated from its OpenAPI document), its vocabularies (generated
// from the same document into api.constants.ts), plus a few of the UI's.
import { API_PARAMETERS, API_SCHEMAS } from "./api.constants";
import type { components } from "./api.generated";

type Schemas = components["schemas"];

export type Generation = Schemas["Generation"];
/** What POST /generate answers: the record plus the creator's token (shown once). */
export type CreatedGeneration = Schemas["CreatedGeneration"];
export type GenerationList = Schemas["GenerationList"];
export type GenerateRequest = Schemas["GenerateRequest"];
export type Progress = Schemas["Progress"];
export type Stats = Schemas["Stats"];
export type Totals = Schemas["Totals"];
export type DayStats = Schemas["DayStats"];
export type DeviceStats = Schemas["DeviceStats"];
export type Health = Schemas["Health"];
export type ModelStatus = Schemas["ModelStatus"];
/** A generation worker as /health and /model/status list it (the service itself, by default). */
export type WorkerStatus = Schemas["WorkerStatus"];
export type DeviceOption = Schemas["DeviceOption"];
export type Peaks = Schemas["Peaks"];
export type TrackPlayResponse = Schemas["TrackPlayResponse"];
export type FavoriteResponse = Schemas["FavoriteResponse"];
/** The body of every error answer: a stable `error_type` and a message a person can act on. */
export type ErrorBody = Schemas["ErrorBody"];

export type GenerationStatus = Generation["status"];
export type Phase = Progress["phase"];
export type Precision = NonNullable<GenerateRequest["precision"]>;

/** Every status a generation can have, in the service's order. */
export const GENERATION_STATUSES: readonly GenerationStatus[] = API_SCHEMAS.Generation.status.enum;

/**
 * Which statuses still move (the others are final). Keyed by the service's enum, so a status it adds
 * fails the type check until it is placed here.
 */
const STATUS_IS_ACTIVE: Record<GenerationStatus, boolean> = {
  queued: true,
  running: true,
  succeeded: false,
  failed: false,
  canceled: false,
};
export const ACTIVE_STATUSES: readonly GenerationStatus[] = GENERATION_STATUSES.filter((status) => STATUS_IS_ACTIVE[status]);
export const FINISHED_STATUSES: readonly GenerationStatus[] = GENERATION_STATUSES.filter((status) => !STATUS_IS_ACTIVE[status]);
export const isActive = (status: GenerationStatus): boolean => STATUS_IS_ACTIVE[status];
export const isFinished = (status: GenerationStatus): boolean => !STATUS_IS_ACTIVE[status];

/** The phases of a job, in order (queued, encoding the text, the decoder loop, decoding, writing, finished). */
export const PHASES: readonly Phase[] = API_SCHEMAS.Progress.phase.enum;

/** The precisions a request may name (the form offers those /model/status lists per device). */
export const PRECISIONS: readonly Precision[] = API_SCHEMAS.GenerateRequest.precision.enum;
/** "Let the service choose": a device or precision a request may name instead of a real one. */
export const AUTO: Precision = "auto";
export const isPrecision = (value: string): value is Precision => (PRECISIONS as readonly string[]).includes(value);

/** The formats GET /download/{id} converts to. */
export const AUDIO_FORMATS = API_PARAMETERS["GET /download/{generation_id}"].format.enum;
export type AudioFormat = (typeof AUDIO_FORMATS)[number];

/**
 * One `progress` server-sent event of `GET /generations/{id}/events`: while the job waits, its new
 * `queue_position` (phase queued, step 0); while it runs, phase, step, fraction and ETA
 * (`queue_position` null).
 */
export interface ProgressEvent extends Progress {
  generation_id: string;
  elapsed_s: number;
  queue_position?: number | null;
}

export type Tab = "generate" | "history" | "popular" | "stats";
export const TABS: readonly Tab[] = ["generate", "history", "popular", "stats"];

/** What the Generate form holds (numbers as the form edits them). */
export interface GenerateDraft {
  prompt: string;
  /** What the music should not be ("" for nothing). */
  negative_prompt: string;
  duration: number;
  device: string;
  precision: string;
  top_k: number;
  top_p: number;
  temperature: number;
  cfg_coef: number;
  seed: string;
  /** How many tracks of this request to make (each its own record and seed, linked by a batch id). */
  variations: number;
}
