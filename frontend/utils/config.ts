// The seed's NEXT_PUBLIC_* settings, read at build time (Next.js inlines them into the static files).

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
  /** Page size of History (the service returns at most 100 per request). */
  maxRecentTracks: number;
}

export function readConfig(env: Record<string, string | undefined>): AppConfig {
  return {
    apiUrl: (env.NEXT_PUBLIC_API_URL ?? "").trim().replace(/\/+$/, ""),
    environment: (env.NEXT_PUBLIC_ENVIRONMENT ?? "production").trim() || "production",
    debug: flag(env.NEXT_PUBLIC_DEBUG_MODE),
    maxRecentTracks: clampInt(env.NEXT_PUBLIC_MAX_RECENT_TRACKS, 20, 1, 100),
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
