// Generated from the service's OpenAPI document by `npm run gen:api`. Do not edit by hand:
// tests/api-drift.test.ts fails when this file and the service's current schema disagree.
// The bounds, enums and defaults the service declares; the UI takes its limits and vocabularies from here.
// Music Genie 0.1.0

/** Per schema, per property: default, enum (without null), minimum/maximum, minLength/maxLength. */
export const API_SCHEMAS = {
  CreatedGeneration: {
    status: {
      enum: ["queued", "running", "succeeded", "failed", "canceled"],
    },
  },
  FavoriteRequest: {
    generation_id: {
      minLength: 1,
      maxLength: 100,
    },
  },
  GenerateRequest: {
    cfg_coef: {
      default: 3,
      minimum: 1,
      maximum: 20,
    },
    continue_from: {
      minLength: 1,
      maxLength: 100,
    },
    continue_seconds: {
      maximum: 120,
    },
    duration: {
      default: 10,
      minimum: 5,
      maximum: 120,
    },
    negative_prompt: {
      minLength: 1,
      maxLength: 2000,
    },
    precision: {
      enum: ["auto", "float32", "bfloat16", "float16", "int8"],
    },
    prompt: {
      minLength: 1,
      maxLength: 2000,
    },
    seed: {
      maximum: 9223372036854776000,
    },
    temperature: {
      default: 1,
      minimum: 0,
      maximum: 10,
    },
    top_k: {
      default: 250,
      minimum: 0,
      maximum: 2048,
    },
    top_p: {
      default: 0,
      minimum: 0,
      maximum: 1,
    },
    user_id: {
      minimum: 1,
      maximum: 9223372036854776000,
    },
    variations: {
      default: 1,
      minimum: 1,
      maximum: 4,
    },
  },
  Generation: {
    status: {
      enum: ["queued", "running", "succeeded", "failed", "canceled"],
    },
  },
  Health: {
    status: {
      enum: ["ok", "degraded", "starting", "error"],
    },
  },
  Progress: {
    phase: {
      enum: ["queued", "encoding_text", "generating", "decoding_audio", "writing", "finished"],
    },
  },
  ReloadRequest: {
    backend: {
      minLength: 1,
      maxLength: 50,
    },
    model: {
      minLength: 1,
      maxLength: 500,
    },
    precision: {
      enum: ["auto", "float32", "bfloat16", "float16", "int8"],
    },
  },
  TrackPlayRequest: {
    generation_id: {
      minLength: 1,
      maxLength: 100,
    },
    play_duration: {
      maximum: 86400,
    },
  },
} as const;

/** Per operation ("GET /recent"), per query or path parameter: the same keywords. */
export const API_PARAMETERS = {
  "GET /benchmarks": {
    model: {
      maxLength: 200,
    },
    device: {
      maxLength: 50,
    },
    backend: {
      maxLength: 50,
    },
    precision: {
      maxLength: 20,
    },
    limit: {
      default: 100,
      minimum: 1,
      maximum: 500,
    },
  },
  "GET /download/{generation_id}": {
    format: {
      default: "wav",
      enum: ["wav", "flac", "ogg", "mp3"],
    },
  },
  "POST /download/{generation_id}": {
    format: {
      default: "wav",
      enum: ["wav", "flac", "ogg", "mp3"],
    },
  },
  "GET /generations/{generation_id}/peaks": {
    count: {
      default: 1000,
      minimum: 1,
      maximum: 10000,
    },
  },
  "GET /most-played": {
    limit: {
      default: 20,
      minimum: 1,
      maximum: 100,
    },
    offset: {
      default: 0,
      minimum: 0,
      maximum: 1000000,
    },
  },
  "GET /recent": {
    limit: {
      default: 20,
      minimum: 1,
      maximum: 100,
    },
    offset: {
      default: 0,
      minimum: 0,
      maximum: 1000000,
    },
    status: {
      enum: ["queued", "running", "succeeded", "failed", "canceled"],
    },
    batch_id: {
      minLength: 1,
      maxLength: 100,
    },
  },
  "GET /search": {
    q: {
      minLength: 1,
      maxLength: 200,
    },
    limit: {
      default: 20,
      minimum: 1,
      maximum: 100,
    },
    offset: {
      default: 0,
      minimum: 0,
      maximum: 1000000,
    },
  },
  "GET /stats": {
    days: {
      default: 7,
      minimum: 1,
      maximum: 365,
    },
  },
} as const;

/** Per security scheme sent as a header (an API key): the header's name. */
export const API_KEY_HEADERS = {
  AdminKey: "X-Admin-Key",
  GenerationToken: "X-Generation-Token",
} as const;
