// The seed's NEXT_PUBLIC_* settings, read at build time (Next.js inlines them into the static files).
import { API_PARAMETERS } from "@/types/api.constants";

/** History's page size: the service's default and most for GET /recent. */
const RECENT_LIMIT = API_PARAMETERS["GET /recent"].limit;

function flag(value: string | undefined): boolean {
  return ["1", "true", "yes", "on"].includes((value ?? "").trim().toLowerCase());
}

function clampInt(value: string | undefined, fallback: number, min: number, max: number): number {
  const parsed = Number.parseInt(value ?? "", 10);
  if (!Number.isFinite(parsed)) return fallback;
  return Math.min(max, Math.max(min, parsed));
}

export interface AppConfig {
  /** Base URL of the service; empty means the same origin (the service serves this UI). */
  apiUrl: string;
  environment: string;
  debug: boolean;
  /** Page size of History (at most what the service returns per request). */
  maxRecentTracks: number;
}

export function readConfig(env: Record<string, string | undefined>): AppConfig {
  return {
    apiUrl: (env.NEXT_PUBLIC_API_URL ?? "").trim().replace(/\/+$/, ""),
    environment: (env.NEXT_PUBLIC_ENVIRONMENT ?? "production").trim() || "production",
    debug: flag(env.NEXT_PUBLIC_DEBUG_MODE),
    maxRecentTracks: clampInt(env.NEXT_PUBLIC_MAX_RECENT_TRACKS, RECENT_LIMIT.default, RECENT_LIMIT.minimum, RECENT_LIMIT.maximum),
  };
}

// Each variable is named in full so that Next.js can inline it.
export const config: AppConfig = readConfig({
  NEXT_PUBLIC_API_URL: process.env.NEXT_PUBLIC_API_URL,
  NEXT_PUBLIC_ENVIRONMENT: process.env.NEXT_PUBLIC_ENVIRONMENT,
  NEXT_PUBLIC_DEBUG_MODE: process.env.NEXT_PUBLIC_DEBUG_MODE,
  NEXT_PUBLIC_MAX_RECENT_TRACKS: process.env.NEXT_PUBLIC_MAX_RECENT_TRACKS,
});

export function debugLog(...args: unknown[]): void {
  if (config.debug) console.debug("[music-genie]", ...args);
}
