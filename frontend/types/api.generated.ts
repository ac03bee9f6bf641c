// Generated from the service's OpenAPI document by `npm run gen:api`. Do not edit by hand:
// tests/api-drift.test.ts fails when this file and the service's current schema disagree.
// Music Genie 0.1.0

export interface paths {
    "/benchmarks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Recorded benchmark runs, newest first
         * @description Rows written by `musicgenie bench`; `device` is a type (cpu) or a device (cuda:1).
         */
        get: operations["BenchmarksBenchmarks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/download/{generation_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Download the audio as wav, flac, ogg or mp3 (counts the download) */
        get: operations["DownloadGenerationIdGetDownload"];
        put?: never;
        /** Download the audio as wav, flac, ogg or mp3 (counts the download) */
        post: operations["DownloadGenerationIdPostDownload"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/favorite": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Set or toggle favourite
         * @description `favorite: true|false` sets the flag (idempotent); without it the flag toggles.
         */
        post: operations["FavoriteFavorite"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/generate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Queue a generation
         * @description Writes a `queued` record and answers 202 with it, `Location: /generations/{id}` and the creator's `token` (shown once: send it as `X-Generation-Token` to cancel or delete). `variations` > 1 writes that many records, generated together and linked by `batch_id`: the answer is the first, with all of them in `batch` (one token for all). `Prefer: wait=N` waits up to N seconds (at most 60): 201 with the finished record, else 202. A full queue (without room for every variation) answers 429 with `Retry-After` and writes nothing. The body is JSON, or the same fields as a multipart form with an `audio` file to continue (the record's `prompt_seconds` is its length); a refused upload writes nothing.
         */
        post: operations["GenerateGenerate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/generations/{generation_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One generation
         * @description `queue_position`: its 1-based place among the waiting jobs while queued, else null.
         */
        get: operations["GenerationsGenerationIdGetGeneration"];
        put?: never;
        post?: never;
        /**
         * Cancel a queued or running job, or delete a finished one
         * @description Needs the generation's token (`X-Generation-Token`) or the admin key (`X-Admin-Key`). Active job: canceled within one decoder step, answers 200 with the record. Finished job: the record and its file are deleted, answers 204.
         */
        delete: operations["GenerationsGenerationIdDeleteGeneration"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/generations/{generation_id}/audio": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The audio (WAV) for players, with HTTP Range */
        get: operations["GenerationsGenerationIdAudioGenerationAudio"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/generations/{generation_id}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Server-sent events: `status` (the record) and `progress` (phase, step, fraction, eta_s)
         * @description The stream starts with the current record and ends after a finished status (or when the service shuts down). While the job waits, a `progress` event with its new `queue_position` follows every move of the queue; while it runs, `progress` events carry phase, step, total_steps, fraction and eta_s (queue_position null).
         */
        get: operations["GenerationsGenerationIdEventsGenerationEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/generations/{generation_id}/peaks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The waveform: lowest and highest sample of each of `count` slices of the audio
         * @description For players that draw the waveform before (or without) downloading the audio: `max` is the top half, `min` the bottom half, `duration` the length in seconds.
         */
        get: operations["GenerationsGenerationIdPeaksGenerationPeaks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/generations/{generation_id}/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Listen while it generates: the audio as MP3, from its start, as it is made
         * @description For a queued or running job, an MP3 stream (chunked) that a player can start at once: it begins at the start of the track whenever the client joins, grows while the decoder runs and ends when the job ends (a cancel ends it early). It holds the audio before loudness normalisation: the stored file replaces it once the job has succeeded. A waiting job's stream starts when the job does. For a finished track, the whole track as MP3.
         */
        get: operations["GenerationsGenerationIdStreamGenerationStream"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Database, model, queue, storage and machine health */
        get: operations["HealthHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        /** The status code of GET /health, without its body (for uptime monitors) */
        head: operations["HealthHealthHead"];
        patch?: never;
        trace?: never;
    };
    "/model/reload": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Reload or switch the model (admin: X-Admin-Key)
         * @description Builds the new engine before retiring the old one: jobs in flight finish on the old one. A failed reload leaves the old engine serving and answers the reason.
         */
        post: operations["ModelReloadModelReload"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/model/status": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Model loading status */
        get: operations["ModelStatusModelStatus"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/most-played": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Most played generations (played at least once)
         * @description A page: `count` items from `offset`, of `total` finished generations with plays.
         */
        get: operations["MostPlayedMostPlayed"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/recent": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Recent generations, newest first
         * @description A page: `count` items from `offset`, of `total` matching; the next at offset + count.
         */
        get: operations["RecentRecent"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/search": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Search prompts (case-insensitive, literal)
         * @description Newest first. A page: `count` items from `offset`, of `total` matching.
         */
        get: operations["SearchSearch"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Generation statistics over the last N days
         * @description Totals and days count the same generations (by the day they were created, UTC).
         */
        get: operations["StatsStats"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/track-play": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Count a play */
        post: operations["TrackPlayTrackPlay"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** BackendOption */
        BackendOption: {
            backend: string;
            precisions: string[];
        };
        /** Benchmark */
        Benchmark: {
            architecture: string;
            backend: string;
            clip_seconds: number;
            /** Format: date-time */
            created_at: string;
            device: string;
            device_name: string;
            device_type: string;
            first_audio_s: number | null;
            generation_time: number;
            host: string;
            id: number;
            load_time: number;
            model: string;
            ms_per_step: number;
            peak_memory_mb: number | null;
            precision: string;
            realtime_factor: number;
            repeat: number;
            run_id: string;
            steps: number;
            threads: number | null;
            tracks: number;
            versions: {
                [key: string]: string;
            };
            vs_reference: number | null;
            vs_reference_float32: number | null;
        };
        /** BenchmarkList */
        BenchmarkList: {
            count: number;
            items: components["schemas"]["Benchmark"][];
        };
        /** BenchmarkSummary */
        BenchmarkSummary: {
            backend: string;
            best_ms_per_step: number;
            best_realtime_factor: number;
            best_vs_reference_float32: number | null;
            device_name: string;
            device_type: string;
            /** Format: date-time */
            last_run_at: string;
            model: string;
            precision: string;
            runs: number;
        };
        /** CreatedGeneration */
        CreatedGeneration: {
            audio_url: string | null;
            backend: string;
            batch: components["schemas"]["Generation"][];
            batch_id: string | null;
            cfg_coef: number;
            /** Format: date-time */
            created_at: string;
            device: string;
            download_count: number;
            download_url: string | null;
            duration: number;
            duration_requested: number;
            error_message: string | null;
            error_type: string | null;
            events_url: string;
            file_size_mb: number | null;
            finished_at: string | null;
            generation_id: string;
            generation_time: number | null;
            id: number;
            is_favorited: boolean;
            last_played: string | null;
            model: string;
            negative_prompt: string | null;
            parent_id: string | null;
            play_count: number;
            precision: string;
            progress: components["schemas"]["Progress"];
            prompt: string;
            prompt_seconds: number | null;
            queue_position: number | null;
            realtime_factor: number | null;
            sample_rate: number | null;
            seed: number | null;
            started_at: string | null;
            /** @enum {string} */
            status: "queued" | "running" | "succeeded" | "failed" | "canceled";
            stream_url: string;
            temperature: number;
            token: string;
            top_k: number;
            top_p: number;
            updated_at: string | null;
            user_id: number | null;
            windows: number | null;
            worker: string | null;
        };
        /** DayStats */
        DayStats: {
            avg_generation_time: number | null;
            canceled_generations: number;
            /** Format: date */
            date: string;
            failed_generations: number;
            successful_generations: number;
            total_generations: number;
        };
        /** DeviceOption */
        DeviceOption: {
            device: string;
            name: string;
            precisions: string[];
        };
        /** DeviceStats */
        DeviceStats: {
            avg_generation_time: number | null;
            avg_realtime_factor: number | null;
            device: string;
            generations: number;
            precision: string;
        };
        /** ErrorBody */
        ErrorBody: {
            error_type: string;
            errors?: components["schemas"]["ErrorItem"][] | null;
            field?: string | null;
            message: string;
            status?: string | null;
            status_code: number;
        };
        /** ErrorItem */
        ErrorItem: {
            field: string | null;
            message: string;
            source: string | null;
        };
        /** FavoriteRequest */
        FavoriteRequest: {
            favorite?: boolean | null;
            /** @description A generation's id. */
            generation_id: string;
        };
        /** FavoriteResponse */
        FavoriteResponse: {
            generation_id: string;
            is_favorited: boolean;
        };
        /** GenerateRequest */
        GenerateRequest: {
            /**
             * @description Classifier-free guidance (1 disables).
             * @default 3
             */
            cfg_coef: number;
            /** @description A generation's id. */
            continue_from?: string | null;
            /** @description How much of the end of `continue_from` to continue. */
            continue_seconds?: number | null;
            /** @description auto, cpu, cuda, mps or cuda:N. */
            device?: string | null;
            /**
             * @description Seconds of audio (5-120).
             * @default 10
             */
            duration: number;
            /** @description What the music should not be (1-2000 characters): guidance steers away from it. Needs `cfg_coef` above 1. */
            negative_prompt?: string | null;
            /** @enum {null|string} */
            precision?: "auto" | "float32" | "bfloat16" | "float16" | "int8" | null;
            /** @description What the music should be (1-2000 characters). */
            prompt: string;
            /** @description Same seed, same audio. */
            seed?: number | null;
            /**
             * @description 0 means greedy decoding.
             * @default 1
             */
            temperature: number;
            /**
             * @description Top-k sampling (0 disables).
             * @default 250
             */
            top_k: number;
            /**
             * @description Nucleus sampling (0 disables).
             * @default 0
             */
            top_p: number;
            user_id?: number | null;
            /**
             * @description How many tracks to make of this request (1-4), generated together: each is a record of its own, linked by `batch_id`, with its own seed (`seed`, `seed` + 1, ... when `seed` is given).
             * @default 1
             */
            variations: number;
        };
        /** Generation */
        Generation: {
            audio_url: string | null;
            backend: string;
            batch_id: string | null;
            cfg_coef: number;
            /** Format: date-time */
            created_at: string;
            device: string;
            download_count: number;
            download_url: string | null;
            duration: number;
            duration_requested: number;
            error_message: string | null;
            error_type: string | null;
            events_url: string;
            file_size_mb: number | null;
            finished_at: string | null;
            generation_id: string;
            generation_time: number | null;
            id: number;
            is_favorited: boolean;
            last_played: string | null;
            model: string;
            negative_prompt: string | null;
            parent_id: string | null;
            play_count: number;
            precision: string;
            progress: components["schemas"]["Progress"];
            prompt: string;
            prompt_seconds: number | null;
            queue_position: number | null;
            realtime_factor: number | null;
            sample_rate: number | null;
            seed: number | null;
            started_at: string | null;
            /** @enum {string} */
            status: "queued" | "running" | "succeeded" | "failed" | "canceled";
            stream_url: string;
            temperature: number;
            top_k: number;
            top_p: number;
            updated_at: string | null;
            user_id: number | null;
            windows: number | null;
            worker: string | null;
        };
        /** GenerationList */
        GenerationList: {
            count: number;
            items: components["schemas"]["Generation"][];
            limit: number;
            offset: number;
            total: number;
        };
        /** Health */
        Health: {
            database: {
                [key: string]: unknown;
            };
            environment: string;
            gpu: {
                [key: string]: unknown;
            }[] | null;
            model: {
                [key: string]: unknown;
            };
            queue: {
                [key: string]: unknown;
            };
            /** @enum {string} */
            status: "ok" | "degraded" | "starting" | "error";
            storage: components["schemas"]["StorageHealth"];
            system: {
                [key: string]: unknown;
            };
            uptime_s: number;
            version: string;
            workers: components["schemas"]["WorkerStatus"][];
        };
        /** ModelStatus */
        ModelStatus: {
            backend: string;
            backends: components["schemas"]["BackendOption"][];
            device: string;
            devices: components["schemas"]["DeviceOption"][];
            error: string | null;
            error_type: string | null;
            info: {
                [key: string]: unknown;
            } | null;
            loaded_at: string | null;
            loaded_variants: {
                [key: string]: string;
            }[];
            model: string;
            precision: string;
            reloading: boolean;
            status: string;
            workers: components["schemas"]["WorkerStatus"][];
        };
        /** Peaks */
        Peaks: {
            channels: number;
            count: number;
            duration: number;
            generation_id: string;
            max: number[];
            min: number[];
            sample_rate: number;
        };
        /** Progress */
        Progress: {
            eta_s: number | null;
            fraction: number;
            /** @enum {string} */
            phase: "queued" | "encoding_text" | "generating" | "decoding_audio" | "writing" | "finished";
            step: number;
            total_steps: number;
        };
        /** ReloadRequest */
        ReloadRequest: {
            backend?: string | null;
            /** @description auto, cpu, cuda, mps or cuda:N. */
            device?: string | null;
            model?: string | null;
            /** @enum {null|string} */
            precision?: "auto" | "float32" | "bfloat16" | "float16" | "int8" | null;
        };
        /** Stats */
        Stats: {
            benchmarks: components["schemas"]["BenchmarkSummary"][];
            by_device: components["schemas"]["DeviceStats"][];
            daily: components["schemas"]["DayStats"][];
            days: number;
            /** Format: date-time */
            since: string;
            storage: components["schemas"]["Storage"];
            totals: components["schemas"]["Totals"];
        };
        /** Storage */
        Storage: {
            bytes: number;
            disk_free_gb: number | null;
            files: number;
            mb: number;
        };
        /** StorageHealth */
        StorageHealth: {
            free_bytes: number;
            needed_bytes: number;
            ok: boolean;
            writable: boolean;
        };
        /** Totals */
        Totals: {
            audio_seconds: number;
            avg_generation_time: number | null;
            avg_realtime_factor: number | null;
            canceled: number;
            downloads: number;
            failed: number;
            favorites: number;
            generations: number;
            plays: number;
            queued: number;
            running: number;
            succeeded: number;
            success_rate: number | null;
        };
        /** TrackPlayRequest */
        TrackPlayRequest: {
            /** @description A generation's id. */
            generation_id: string;
            /** @description Seconds played. */
            play_duration?: number | null;
        };
        /** TrackPlayResponse */
        TrackPlayResponse: {
            generation_id: string;
            last_played: string | null;
            play_count: number;
        };
        /** WorkerStatus */
        WorkerStatus: {
            backend: string;
            device: string;
            host: string;
            last_heartbeat: string | null;
            max_batch: number;
            model: string;
            name: string;
            pid: number;
            precision: string;
            running: string[];
            status: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    BenchmarksBenchmarks: {
        parameters: {
            query?: {
                /** @description Only this backend. */
                backend?: string | null;
                /** @description Only this device type (cpu) or device (cuda:1). */
                device?: string | null;
                /** @description How many (1-500). */
                limit?: number;
                /** @description Only this model. */
                model?: string | null;
                /** @description Only this precision. */
                precision?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BenchmarkList"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An input is out of bounds (`validation_error`, with `field`) or cannot be served (`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded file is not audio the service reads (`unsupported_audio`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    DownloadGenerationIdGetDownload: {
        parameters: {
            query?: {
                /** @description The file's format. */
                format?: "wav" | "flac" | "ogg" | "mp3";
            };
            header?: never;
            path: {
                generation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The file as an attachment: audio/wav, audio/flac, audio/ogg or audio/mpeg. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The credential is wrong, or the request came from a page of another site (`forbidden`). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Nothing has this id (`not_found`). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation is not in a state that allows this (`not_ready`); `status` says which it is in. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation's audio is no longer on disk (`file_missing`). */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An input is out of bounds (`validation_error`, with `field`) or cannot be served (`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded file is not audio the service reads (`unsupported_audio`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    DownloadGenerationIdPostDownload: {
        parameters: {
            query?: {
                /** @description The file's format. */
                format?: "wav" | "flac" | "ogg" | "mp3";
            };
            header?: never;
            path: {
                generation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The file as an attachment: audio/wav, audio/flac, audio/ogg or audio/mpeg. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The credential is wrong, or the request came from a page of another site (`forbidden`). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Nothing has this id (`not_found`). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation is not in a state that allows this (`not_ready`); `status` says which it is in. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation's audio is no longer on disk (`file_missing`). */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An input is out of bounds (`validation_error`, with `field`) or cannot be served (`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded file is not audio the service reads (`unsupported_audio`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    FavoriteFavorite: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["FavoriteRequest"];
            };
        };
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FavoriteResponse"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The credential is wrong, or the request came from a page of another site (`forbidden`). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Nothing has this id (`not_found`). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The body is not JSON (`unsupported_media_type`): send `Content-Type: application/json` (or, where the endpoint takes a file, `multipart/form-data`). */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An input is out of bounds (`validation_error`, with `field`) or cannot be served (`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded file is not audio the service reads (`unsupported_audio`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    GenerateGenerate: {
        parameters: {
            query?: never;
            header?: {
                /** @description `wait=N`: wait up to N seconds for the result (RFC 7240; at most 60). */
                Prefer?: string | null;
            };
            path?: never;
            cookie?: never;
        };
        /** @description The generation's fields as JSON, or as a form with an audio file to continue. */
        requestBody: {
            content: {
                "application/json": components["schemas"]["GenerateRequest"];
                "multipart/form-data": {
                    /**
                     * Format: binary
                     * @description Audio to continue (WAV, FLAC, OGG (Vorbis or Opus) or MP3; at most MAX_UPLOAD_MB, 20 MiB unless configured): the result starts with it and goes on, `duration` seconds in all, so `duration` must exceed its length (and it must be shorter than 120 s). Not with `continue_from`.
                     */
                    audio: string;
                    cfg_coef?: components["schemas"]["GenerateRequest"]["cfg_coef"];
                    continue_from?: components["schemas"]["GenerateRequest"]["continue_from"];
                    continue_seconds?: components["schemas"]["GenerateRequest"]["continue_seconds"];
                    device?: components["schemas"]["GenerateRequest"]["device"];
                    duration?: components["schemas"]["GenerateRequest"]["duration"];
                    negative_prompt?: components["schemas"]["GenerateRequest"]["negative_prompt"];
                    precision?: components["schemas"]["GenerateRequest"]["precision"];
                    prompt: components["schemas"]["GenerateRequest"]["prompt"];
                    seed?: components["schemas"]["GenerateRequest"]["seed"];
                    temperature?: components["schemas"]["GenerateRequest"]["temperature"];
                    top_k?: components["schemas"]["GenerateRequest"]["top_k"];
                    top_p?: components["schemas"]["GenerateRequest"]["top_p"];
                    user_id?: components["schemas"]["GenerateRequest"]["user_id"];
                    variations?: components["schemas"]["GenerateRequest"]["variations"];
                };
            };
        };
        responses: {
            /** @description Finished within `Prefer: wait`. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedGeneration"];
                };
            };
            /** @description Request accepted, processing continues off-line */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedGeneration"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The credential is wrong, or the request came from a page of another site (`forbidden`). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Nothing has this id (`not_found`). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation is not in a state that allows this (`not_ready`); `status` says which it is in. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation's audio is no longer on disk (`file_missing`). */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The request body is too large (`payload_too_large`), or the uploaded file is larger than MAX_UPLOAD_MB (`upload_too_large`); refused before it is read. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The body is not JSON (`unsupported_media_type`): send `Content-Type: application/json` (or, where the endpoint takes a file, `multipart/form-data`). */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An input is out of bounds (`validation_error`, with `field`) or cannot be served (`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded file is not audio the service reads (`unsupported_audio`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The model cannot serve (`model_unavailable`, `backend_unavailable`, with the reason), the service is shutting down (`shutting_down`), or it cannot store an upload (`storage_error`). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    GenerationsGenerationIdGetGeneration: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                generation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Generation"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Nothing has this id (`not_found`). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    GenerationsGenerationIdDeleteGeneration: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                generation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Generation"];
                };
            };
            /** @description Deleted with its file. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description A credential is missing (`unauthorized`). */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The credential is wrong, or the request came from a page of another site (`forbidden`). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Nothing has this id (`not_found`). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    GenerationsGenerationIdAudioGenerationAudio: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                generation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The audio as 16-bit WAV. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The requested byte range. */
            206: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Nothing has this id (`not_found`). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation is not in a state that allows this (`not_ready`); `status` says which it is in. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation's audio is no longer on disk (`file_missing`). */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The range lies outside the file (`range_not_satisfiable`); `Content-Range` gives its size. */
            416: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    GenerationsGenerationIdEventsGenerationEvents: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                generation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Server-sent events (`status`, `progress`). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Nothing has this id (`not_found`). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    GenerationsGenerationIdPeaksGenerationPeaks: {
        parameters: {
            query?: {
                /** @description How many slices (1-10000; fewer for a shorter file). */
                count?: number;
            };
            header?: never;
            path: {
                generation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Peaks"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Nothing has this id (`not_found`). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation is not in a state that allows this (`not_ready`); `status` says which it is in. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation's audio is no longer on disk (`file_missing`). */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An input is out of bounds (`validation_error`, with `field`) or cannot be served (`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded file is not audio the service reads (`unsupported_audio`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    GenerationsGenerationIdStreamGenerationStream: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                generation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description MP3, growing while the job runs. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Nothing has this id (`not_found`). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation is not in a state that allows this (`not_ready`); `status` says which it is in. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation's audio is no longer on disk (`file_missing`). */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    HealthHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The database does not answer. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    HealthHealthHead: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": null;
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The database does not answer. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    ModelReloadModelReload: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReloadRequest"] | null;
            };
        };
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelStatus"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description A credential is missing (`unauthorized`). */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The credential is wrong, or the request came from a page of another site (`forbidden`). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The body is not JSON (`unsupported_media_type`): send `Content-Type: application/json` (or, where the endpoint takes a file, `multipart/form-data`). */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An input is out of bounds (`validation_error`, with `field`) or cannot be served (`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded file is not audio the service reads (`unsupported_audio`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The model cannot serve (`model_unavailable`, `backend_unavailable`, with the reason), the service is shutting down (`shutting_down`), or it cannot store an upload (`storage_error`). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    ModelStatusModelStatus: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelStatus"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    MostPlayedMostPlayed: {
        parameters: {
            query?: {
                /** @description How many (1-100). */
                limit?: number;
                /** @description How many to skip first (0-1000000). */
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GenerationList"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An input is out of bounds (`validation_error`, with `field`) or cannot be served (`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded file is not audio the service reads (`unsupported_audio`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    RecentRecent: {
        parameters: {
            query?: {
                /** @description Only the variations of this batch. */
                batch_id?: string | null;
                /** @description true: only favourites; false: only the others; left out: all. */
                favorite?: boolean | null;
                /** @description How many (1-100). */
                limit?: number;
                /** @description How many to skip first (0-1000000). */
                offset?: number;
                /** @description Only this status. */
                status?: "queued" | "running" | "succeeded" | "failed" | "canceled" | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GenerationList"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An input is out of bounds (`validation_error`, with `field`) or cannot be served (`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded file is not audio the service reads (`unsupported_audio`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    SearchSearch: {
        parameters: {
            query: {
                /** @description true: only favourites; false: only the others; left out: all. */
                favorite?: boolean | null;
                /** @description How many (1-100). */
                limit?: number;
                /** @description How many to skip first (0-1000000). */
                offset?: number;
                /** @description Text the prompt contains. */
                q: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GenerationList"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An input is out of bounds (`validation_error`, with `field`) or cannot be served (`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded file is not audio the service reads (`unsupported_audio`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    StatsStats: {
        parameters: {
            query?: {
                /** @description Days to analyse, today included (1-365). */
                days?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Stats"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An input is out of bounds (`validation_error`, with `field`) or cannot be served (`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded file is not audio the service reads (`unsupported_audio`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    TrackPlayTrackPlay: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TrackPlayRequest"];
            };
        };
        responses: {
            /** @description Request fulfilled, document follows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TrackPlayResponse"];
                };
            };
            /** @description The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The credential is wrong, or the request came from a page of another site (`forbidden`). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Nothing has this id (`not_found`). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The generation is not in a state that allows this (`not_ready`); `status` says which it is in. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The body is not JSON (`unsupported_media_type`): send `Content-Type: application/json` (or, where the endpoint takes a file, `multipart/form-data`). */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An input is out of bounds (`validation_error`, with `field`) or cannot be served (`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded file is not audio the service reads (`unsupported_audio`). */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
}
