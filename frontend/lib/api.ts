// The service's HTTP API, typed from its OpenAPI document. Every failure becomes an ApiError whose
// message is the service's own (or says plainly that the service cannot be reached).
import type {
  AudioFormat,
  CreatedGeneration,
  ErrorBody,
  FavoriteResponse,
  GenerateRequest,
  Generation,
  GenerationList,
  Health,
  ModelStatus,
  Peaks,
  Stats,
  TrackPlayResponse,
} from "@/types";
import { API_KEY_HEADERS } from "@/types/api.constants";
import { config, debugLog } from "@/utils/config";

export class ApiError extends Error {
  readonly status: number;
  readonly errorType: string;
  readonly field?: string;
  /** Seconds to wait before trying again (from Retry-After), when the service said so. */
  readonly retryAfter?: number;

  constructor(status: number, errorType: string, message: string, options: { field?: string; retryAfter?: number } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.errorType = errorType;
    this.field = options.field;
    this.retryAfter = options.retryAfter;
  }
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** A person-readable message for any error thrown by a request. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The header that carries a generation's token (the security scheme `GenerationToken`). */
export const TOKEN_HEADER = API_KEY_HEADERS.GenerationToken;

export function apiUrl(path: string): string {
  return `${config.apiUrl}${path}`;
}

async function errorFrom(response: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  let errorType = response.status === 429 ? "rate_limited" : "http_error";
  let message = `${response.status} ${response.statusText || "error"}`.trim();
  let field: string | undefined;
  try {
    const body = (await response.json()) as Partial<ErrorBody>;
    if (body.error_type) errorType = body.error_type;
    if (body.message) message = body.message;
    if (body.field) field = body.field;
  } catch {
    // Not JSON (a proxy's page, say): keep the status line.
  }
  if (retryAfter !== undefined && !/retry|try again/i.test(message)) {
    message = `${message}; try again in ${retryAfter} s`;
  }
  if (response.status === 429 && retryAfter === undefined && !/retry|try again/i.test(message)) {
    message = `${message}; try again in a minute`;
  }
  return new ApiError(response.status, errorType, message, { field, retryAfter });
}

/** `path`'s JSON answer; any other status than 2xx (and `answered`, whose body is the same type) throws. */
export async function request<T>(path: string, init: RequestInit = {}, answered: readonly number[] = []): Promise<T> {
  const url = apiUrl(path);
  let response: Response;
  try {
    response = await fetch(url, {
      ...init,
      // A form sets its own Content-Type (multipart, with its boundary); every other body is JSON.
      headers: { Accept: "application/json", ...(init.body && !(init.body instanceof FormData) ? { "Content-Type": "application/json" } : {}), ...init.headers },
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", `Cannot reach the Music Genie service at ${config.apiUrl || window.location.origin}: is it running?`);
  }
  debugLog(init.method ?? "GET", path, response.status);
  if (!response.ok && !answered.includes(response.status)) throw await errorFrom(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

const json = (body: unknown): RequestInit => ({ method: "POST", body: JSON.stringify(body) });

/**
 * POST /generate's body as a multipart form: the same fields as the JSON body (as text; the service
 * reads the numbers from it) plus the audio file to continue, as `audio`.
 */
export function generateForm(body: GenerateRequest, audio: File): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(body)) {
    if (value !== undefined && value !== null) form.append(name, String(value));
  }
  form.append("audio", audio, audio.name);
  return form;
}

/** What narrows a list: where the page starts, one status, favourites only (or only the others), one batch. */
export interface ListOptions {
  offset?: number;
  status?: string;
  favorite?: boolean;
  /** Only the variations one request made (GET /recent). */
  batch_id?: string;
}

function listQuery(limit: number, options: ListOptions, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({ ...extra, limit: String(limit) });
  if (options.offset) params.set("offset", String(options.offset));
  if (options.status) params.set("status", options.status);
  if (options.favorite !== undefined) params.set("favorite", String(options.favorite));
  if (options.batch_id) params.set("batch_id", options.batch_id);
  return params.toString();
}

export const api = {
  /**
   * Queues a generation; the answer carries the creator's token, which cancel and delete need. With
   * `audio`, the track continues that file (sent as a multipart form). With `variations` > 1 the answer
   * is the first record, with every record the request made in `batch` (one token for all of them).
   */
  generate: (body: GenerateRequest, audio?: File) =>
    request<CreatedGeneration>("/generate", audio ? { method: "POST", body: generateForm(body, audio) } : json(body)),
  generation: (id: string) => request<Generation>(`/generations/${encodeURIComponent(id)}`),
  /**
   * Cancels a queued or running job (answers the record) or deletes a finished one (answers nothing).
   * Needs the token POST /generate answered to the generation's creator.
   */
  remove: (id: string, token: string) =>
    request<Generation | undefined>(`/generations/${encodeURIComponent(id)}`, { method: "DELETE", headers: { [TOKEN_HEADER]: token } }),
  /** A page of generations, newest first (`total` says how many match in all). */
  recent: (limit: number, options: ListOptions = {}) => request<GenerationList>(`/recent?${listQuery(limit, options)}`),
  mostPlayed: (limit: number, offset = 0) => request<GenerationList>(`/most-played?${listQuery(limit, { offset })}`),
  search: (q: string, limit: number, options: Omit<ListOptions, "status" | "batch_id"> = {}) =>
    request<GenerationList>(`/search?${listQuery(limit, options, { q })}`),
  /** The waveform of a finished generation: min and max of `count` slices, and the duration. */
  peaks: (id: string, count: number, signal?: AbortSignal) =>
    request<Peaks>(`/generations/${encodeURIComponent(id)}/peaks?count=${count}`, { signal }),
  stats: (days: number) => request<Stats>(`/stats?days=${days}`),
  trackPlay: (id: string, playDuration: number) =>
    request<TrackPlayResponse>("/track-play", json({ generation_id: id, play_duration: Math.round(playDuration * 10) / 10 })),
  /** Sets (not toggles) the favourite flag: asking twice gives the same answer. */
  setFavorite: (id: string, favorite: boolean) => request<FavoriteResponse>("/favorite", json({ generation_id: id, favorite })),
  /** The service's health; a 503 (the database does not answer) carries it too. */
  health: () => request<Health>("/health", {}, [503]),
  modelStatus: () => request<ModelStatus>("/model/status"),
  audioUrl: (id: string) => apiUrl(`/generations/${encodeURIComponent(id)}/audio`),
  eventsUrl: (id: string) => apiUrl(`/generations/${encodeURIComponent(id)}/events`),
  /** The audio while it is made (MP3, from the start); the whole track once finished. */
  streamUrl: (id: string) => apiUrl(`/generations/${encodeURIComponent(id)}/stream`),
  async download(id: string, format: AudioFormat): Promise<{ blob: Blob; filename: string }> {
    const path = `/download/${encodeURIComponent(id)}?format=${format}`;
    let response: Response;
    try {
      response = await fetch(apiUrl(path));
    } catch {
      throw new ApiError(0, "network_error", "Cannot reach the Music Genie service to download: is it running?");
    }
    if (!response.ok) throw await errorFrom(response);
    const blob = await response.blob();
    return { blob, filename: filenameFrom(response.headers.get("Content-Disposition")) ?? `music-genie-${id}.${format}` };
  },
};

/** The file name of a Content-Disposition header (RFC 6266: filename* first). */
export function filenameFrom(disposition: string | null): string | undefined {
  if (!disposition) return undefined;
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(disposition);
  if (extended) {
    try {
      return decodeURIComponent(extended[2].trim());
    } catch {
      // fall through to the plain name
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
  return plain?.[1]?.trim();
}
