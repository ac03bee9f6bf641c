import { beforeEach, describe, expect, it, vi } from "vitest";

/** Retry an expectation until it holds (polling is asynchronous). */
const waitForExpect = (check: () => void) => vi.waitFor(check, { timeout: 2000, interval: 10 });

import { detailRows } from "@/components/audio/Player";
import { ONLY_THE_CREATOR, extendGeneration, lookUpBatch, removeGeneration, startGeneration, startGenerations } from "@/lib/actions";
import { ApiError, api, filenameFrom, generateForm, parseRetryAfter } from "@/lib/api";
import { readAudioSeconds } from "@/lib/audioFile";
import { batchIdOf, batchRecords, batchSummary, variationOf, variationOrder, variationPosition } from "@/lib/batch";
import {
  cannotExtend,
  continuationLabel,
  defaultExtension,
  extendRequest,
  extendedDuration,
  maxExtension,
  minExtension,
  shortPrompt,
  validateExtension,
} from "@/lib/extend";
import { formatAgo, formatEta, formatPercent, isRandomModel, outcomeText } from "@/lib/format";
import {
  DEFAULT_VARIATIONS,
  MAX_SEED,
  minDurationFor,
  toRequest,
  validateDraft,
  validatePromptAudio,
  VARIATION_CHOICES,
  VARIATIONS,
} from "@/lib/generateRequest";
import { deviceLabel, offeredPlacements, precisionsFor } from "@/lib/options";
import { computePeaks } from "@/lib/peaks";
import { PlayCounter } from "@/lib/playCounter";
import { phaseLabel, progressView } from "@/lib/progress";
import { dailySeries, deviceRows, successSlices } from "@/lib/stats";
import { DEFAULT_DRAFT, useAppStore } from "@/lib/store";
import { TOKENS_KEY, forgetToken, rememberToken, tokenFor, useTokens } from "@/lib/tokens";
import { isPolled, MAX_STREAMS, stop } from "@/lib/tracker";
import { newestFirst } from "@/lib/useList";
import { healthFailure } from "@/lib/useServiceStatus";
import type { Generation, ModelStatus, Totals } from "@/types";
import { ACTIVE_STATUSES, AUDIO_FORMATS, FINISHED_STATUSES, GENERATION_STATUSES, PHASES, PRECISIONS } from "@/types";
import { API_PARAMETERS, API_SCHEMAS } from "@/types/api.constants";
import { readConfig } from "@/utils/config";

import { FakeEventSource, fakeService, generation, json, ownTokens, page, resetStore, unfinished } from "./helpers";

beforeEach(() => {
  resetStore();
  vi.stubGlobal("EventSource", FakeEventSource);
});

describe("PlayCounter", () => {
  const play = (counter: PlayCounter, from: number, to: number, step = 0.25) => {
    for (let t = from; t <= to + 1e-9; t += step) counter.update(t, true);
  };

  it("counts once after 5 s of real listening", () => {
    const onCount = vi.fn();
    const counter = new PlayCounter(60, onCount);
    counter.update(0, true);
    play(counter, 0, 4.75);
    expect(onCount).not.toHaveBeenCalled();
    play(counter, 5, 30);
    expect(onCount).toHaveBeenCalledTimes(1);
    expect(onCount.mock.calls[0][0]).toBeGreaterThanOrEqual(5);
  });

  it("needs only half of a short track", () => {
    const onCount = vi.fn();
    const counter = new PlayCounter(5, onCount);
    expect(counter.threshold).toBe(2.5);
    play(counter, 0, 2.5);
    expect(onCount).toHaveBeenCalledTimes(1);
  });

  it("does not count seeking or paused time as listening", () => {
    const onCount = vi.fn();
    const counter = new PlayCounter(120, onCount);
    counter.update(0, true);
    counter.update(100, true); // a jump: a seek the element did not announce
    counter.seeked(50);
    counter.update(50.2, true);
    counter.update(60, false); // paused
    counter.update(90, true); // next update after a pause: starts a new stretch
    expect(counter.listenedSeconds).toBeCloseTo(0.2, 5);
    expect(onCount).not.toHaveBeenCalled();
  });
});

describe("api errors", () => {
  it("reads Retry-After as seconds or a date", () => {
    expect(parseRetryAfter("12")).toBe(12);
    expect(parseRetryAfter(new Date(Date.now() + 30_000).toUTCString())).toBeGreaterThanOrEqual(29);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
  });

  it("turns a rate limit into a message that says when to try again", async () => {
    fakeService({
      "GET /recent": () =>
        json({ error_type: "rate_limited", message: "too many requests to GET /recent", status_code: 429 }, 429, { "Retry-After": "17" }),
    });
    const error = await api.recent(5).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(429);
    expect(error.retryAfter).toBe(17);
    expect(error.message).toBe("too many requests to GET /recent; try again in 17 s");
  });

  it("asks for a page by offset, status and favourites", async () => {
    const service = fakeService({
      "GET /recent": () => json({ items: [], count: 0, total: 0, offset: 0, limit: 5 }),
      "GET /search": () => json({ items: [], count: 0, total: 0, offset: 0, limit: 5 }),
      "GET /most-played": () => json({ items: [], count: 0, total: 0, offset: 0, limit: 5 }),
      "GET /generations/g1/peaks": () => json({ generation_id: "g1", duration: 5, sample_rate: 32000, channels: 1, count: 2, min: [-1, 0], max: [1, 0] }),
    });
    await api.recent(5);
    await api.recent(5, { offset: 10, status: "queued", favorite: true });
    await api.search("lo fi", 5, { offset: 5, favorite: false });
    await api.mostPlayed(5, 15);
    const peaks = await api.peaks("g1", 2);
    expect(service.calls.map((c) => c.path)).toEqual([
      "/recent?limit=5",
      "/recent?limit=5&offset=10&status=queued&favorite=true",
      "/search?q=lo+fi&limit=5&offset=5&favorite=false",
      "/most-played?limit=5&offset=15",
      "/generations/g1/peaks?count=2",
    ]);
    expect(peaks.max).toEqual([1, 0]);
  });

  it("keeps the service's own message", async () => {
    fakeService({
      "POST /generate": () => json({ error_type: "model_unavailable", message: "the model cannot generate: no weights", status_code: 503 }, 503),
    });
    const error = await api.generate({ prompt: "x", duration: 5, top_k: 250, top_p: 0, temperature: 1, cfg_coef: 3, variations: 1 }).catch((e) => e);
    expect(error.errorType).toBe("model_unavailable");
    expect(error.message).toBe("the model cannot generate: no weights");
  });

  it("says plainly when the service cannot be reached", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const error = await api.health().catch((e) => e);
    expect(error.errorType).toBe("network_error");
    expect(error.message).toMatch(/Cannot reach the Music Genie service/);
  });

  it("reads the health a 503 carries (the database is down), and takes a rate limit for an answer", async () => {
    const down = { status: "error", database: { ok: false, error: "OperationalError: gone" } };
    fakeService({ "GET /health": () => json(down, 503) });
    expect(await api.health()).toMatchObject(down);
    fakeService({ "GET /health": () => json({ error_type: "rate_limited", message: "too many requests", status_code: 429 }, 429, { "Retry-After": "20" }) });
    const limited = await api.health().catch((e) => e);
    expect(healthFailure(limited)).toEqual({ message: null, delay: 21_000 });
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const unreachable = healthFailure(await api.health().catch((e) => e));
    expect(unreachable.message).toMatch(/Cannot reach the Music Genie service/);
    expect(unreachable.delay).toBe(5000);
  });

  it("finds the file name of a download", () => {
    expect(filenameFrom(`attachment; filename="a.mp3"; filename*=UTF-8''caf%C3%A9.mp3`)).toBe("café.mp3");
    expect(filenameFrom('attachment; filename="beat.wav"')).toBe("beat.wav");
    expect(filenameFrom(null)).toBeUndefined();
  });
});

describe("the Generate form", () => {
  const fields = API_SCHEMAS.GenerateRequest;

  it("sends only what was chosen", () => {
    const body = toRequest({ ...DEFAULT_DRAFT, prompt: "  piano  ", duration: 5 });
    expect(body).toEqual({ prompt: "piano", duration: 5, top_k: 250, top_p: 0, temperature: 1, cfg_coef: 3, variations: 1 });
    expect(toRequest({ ...DEFAULT_DRAFT, prompt: "x", device: "cpu", precision: "int8", seed: "42" })).toMatchObject({
      device: "cpu",
      precision: "int8",
      seed: 42,
    });
    expect(toRequest({ ...DEFAULT_DRAFT, prompt: "x", negative_prompt: "  " })).not.toHaveProperty("negative_prompt");
    expect(toRequest({ ...DEFAULT_DRAFT, prompt: "x", negative_prompt: " vocals " })).toMatchObject({ negative_prompt: "vocals" });
  });

  it("starts from the service's defaults", () => {
    expect(DEFAULT_DRAFT).toMatchObject({
      duration: fields.duration.default,
      top_k: fields.top_k.default,
      top_p: fields.top_p.default,
      temperature: fields.temperature.default,
      cfg_coef: fields.cfg_coef.default,
    });
  });

  it("says what is wrong, at the service's own bounds", () => {
    const ok = { ...DEFAULT_DRAFT, prompt: "x" };
    const { minimum: shortest, maximum: longest } = fields.duration;
    expect(validateDraft({ ...DEFAULT_DRAFT, prompt: " " })).toMatch(/prompt/);
    expect(validateDraft({ ...ok, duration: longest + 1 })).toBe(`The duration must be ${shortest}-${longest} seconds.`);
    expect(validateDraft({ ...ok, duration: shortest - 1 })).toMatch(/duration/);
    expect(validateDraft({ ...ok, duration: longest })).toBeNull();
    expect(validateDraft({ ...ok, duration: shortest })).toBeNull();
    expect(validateDraft({ ...ok, prompt: "y".repeat(fields.prompt.maxLength) })).toBeNull();
    expect(validateDraft({ ...ok, prompt: "y".repeat(fields.prompt.maxLength + 1) })).toBe(`The prompt can be at most ${fields.prompt.maxLength} characters.`);
    expect(validateDraft({ ...ok, top_k: fields.top_k.maximum + 1 })).toMatch(/Top-k/);
    expect(validateDraft({ ...ok, top_p: fields.top_p.maximum + 1 })).toMatch(/Top-p/);
    expect(validateDraft({ ...ok, temperature: fields.temperature.maximum + 1 })).toMatch(/Temperature/);
    expect(validateDraft({ ...ok, cfg_coef: fields.cfg_coef.minimum - 0.5 })).toMatch(/Guidance/);
    expect(validateDraft({ ...ok, precision: "float8" })).toMatch(/precision/);
    expect(validateDraft({ ...ok, seed: "99999999999999999999" })).toMatch(/seed/);
    expect(validateDraft({ ...ok, seed: String(MAX_SEED) })).toBeNull();
    expect(validateDraft(ok)).toBeNull();
    expect(validateDraft({ ...ok, negative_prompt: "vocals", cfg_coef: 1 })).toMatch(/negative prompt needs guidance above 1/);
    expect(validateDraft({ ...ok, negative_prompt: "z".repeat(fields.negative_prompt.maxLength + 1) })).toMatch(/negative prompt can be at most/);
    expect(validateDraft({ ...ok, negative_prompt: "vocals" })).toBeNull();
  });
});

describe("continuing an uploaded file", () => {
  const { minimum, maximum } = API_SCHEMAS.GenerateRequest.duration;

  it("keeps the whole track longer than the audio, and within the longest track", () => {
    expect(minDurationFor(null)).toBe(minimum);
    expect(minDurationFor(2.5)).toBe(minimum);
    expect(minDurationFor(12)).toBe(13);
    expect(minDurationFor(12.4)).toBe(13);
    expect(validatePromptAudio(13, 12.4)).toBeNull();
    expect(validatePromptAudio(12, 12.4)).toMatch(/make it more than 12.4 s/);
    expect(validatePromptAudio(12.4, 12.4)).toMatch(/make it more than 12.4 s/);
    expect(validatePromptAudio(maximum, maximum)).toMatch(`must be shorter than ${maximum} s`);
    expect(validatePromptAudio(5, null)).toBeNull(); // unknown length: the service checks it
  });

  it("sends the same fields as the JSON body, as text, plus the file", () => {
    const file = new File(["x"], "intro.flac");
    const form = generateForm({ ...toRequest({ ...DEFAULT_DRAFT, prompt: "more", duration: 13, seed: "7" }), precision: undefined }, file);
    expect([...form.keys()]).toEqual(["prompt", "duration", "top_k", "top_p", "temperature", "cfg_coef", "seed", "variations", "audio"]);
    expect(form.get("variations")).toBe("1");
    const three = generateForm(toRequest({ ...DEFAULT_DRAFT, prompt: "more", variations: 3 }), file);
    expect(three.get("variations")).toBe("3");
    expect(form.get("duration")).toBe("13");
    expect((form.get("audio") as File).name).toBe("intro.flac");
  });

  describe("reading a file's length", () => {
    const file = new File([new Uint8Array(16)], "intro.wav", { type: "audio/wav" });
    const urls = { made: 0, revoked: 0 };
    beforeEach(() => {
      urls.made = urls.revoked = 0;
      Object.defineProperty(URL, "createObjectURL", { configurable: true, value: () => `blob:${++urls.made}` });
      Object.defineProperty(URL, "revokeObjectURL", { configurable: true, value: () => void urls.revoked++ });
    });
    /** <audio> elements that answer `event` (with `duration`) once their src is set. */
    const audioElements = (event: string, duration = Number.NaN) => {
      const create = document.createElement.bind(document);
      vi.spyOn(document, "createElement").mockImplementation((tag: string) => {
        const element = create(tag);
        if (tag === "audio") {
          Object.defineProperty(element, "duration", { value: duration });
          Object.defineProperty(element, "src", { set: () => setTimeout(() => element.dispatchEvent(new Event(event))) });
        }
        return element;
      });
    };

    it("takes it from the <audio> element's metadata and lets go of the file", async () => {
      audioElements("loadedmetadata", 12.4);
      expect(await readAudioSeconds(file)).toBe(12.4);
      expect(urls).toEqual({ made: 1, revoked: 1 });
      vi.restoreAllMocks();
    });

    it("decodes the file when the element cannot tell, and says null when nothing can", async () => {
      audioElements("error");
      vi.stubGlobal(
        "AudioContext",
        class {
          decodeAudioData = async () => ({ duration: 3.5 });
          close = async () => undefined;
        },
      );
      expect(await readAudioSeconds(file)).toBe(3.5);
      vi.stubGlobal(
        "AudioContext",
        class {
          decodeAudioData = async () => Promise.reject(new Error("cannot decode"));
          close = async () => undefined;
        },
      );
      expect(await readAudioSeconds(file)).toBeNull();
      expect(urls.made).toBe(urls.revoked);
      vi.restoreAllMocks();
    });
  });
});

describe("the service's vocabularies", () => {
  it("come from its OpenAPI document", () => {
    expect(AUDIO_FORMATS).toBe(API_PARAMETERS["GET /download/{generation_id}"].format.enum);
    expect(PRECISIONS).toBe(API_SCHEMAS.GenerateRequest.precision.enum);
    expect(PHASES).toBe(API_SCHEMAS.Progress.phase.enum);
    expect(GENERATION_STATUSES).toBe(API_SCHEMAS.Generation.status.enum);
    // Active and finished split the statuses.
    expect([...ACTIVE_STATUSES, ...FINISHED_STATUSES].sort()).toEqual([...GENERATION_STATUSES].sort());
    expect(ACTIVE_STATUSES.filter((status) => FINISHED_STATUSES.includes(status))).toEqual([]);
  });

  it("name every phase in words", () => {
    for (const phase of PHASES) expect(phaseLabel({ phase, step: 0, total_steps: 0 })).not.toBe(phase);
    expect(phaseLabel({ phase: "generating", step: 120, total_steps: 500 })).toBe("Generating · step 120/500");
  });
});

describe("honest progress", () => {
  const running = (progress: Partial<ReturnType<typeof generation>["progress"]>) =>
    unfinished({ status: "running", progress: { phase: "generating", step: 1, total_steps: 500, fraction: 0.1, eta_s: 20, ...progress } });

  it("shows the phase, the service's fraction and its ETA", () => {
    expect(progressView(running({ phase: "encoding_text", step: 0, fraction: 0.02, eta_s: null }))).toEqual({ percent: 2, phase: "Encoding the prompt", detail: "estimating…" });
    expect(progressView(running({ step: 120, fraction: 0.3, eta_s: 12 }))).toEqual({ percent: 30, phase: "Generating · step 120/500", detail: "12 s left" });
    expect(progressView(running({ phase: "decoding_audio", step: 500, fraction: 0.95, eta_s: 1 }))?.phase).toBe("Decoding audio");
    expect(progressView(running({ phase: "writing", step: 500, fraction: 0.99, eta_s: 0.2 }))?.phase).toBe("Writing the file");
    expect(progressView(unfinished({ queue_position: 2 }))).toEqual({ percent: null, phase: "Waiting", detail: "position 2 in the queue" });
  });

  it("never says 100% before the record says succeeded", () => {
    expect(progressView(running({ phase: "writing", fraction: 0.999 }))?.percent).toBe(99);
    expect(progressView(running({ phase: "finished", fraction: 1, eta_s: null }))?.percent).toBe(99);
    expect(progressView(generation())?.percent).toBe(100);
  });

  it("takes the later of the record and the live event", () => {
    const record = running({ step: 200, fraction: 0.4 });
    const live = { phase: "generating" as const, step: 250, total_steps: 500, fraction: 0.5, eta_s: 8 };
    expect(progressView(record, live)?.percent).toBe(50);
    expect(progressView(record, { ...live, fraction: 0.2, step: 100 })?.phase).toBe("Generating · step 200/500");
  });

  it("says how a job ended", () => {
    expect(progressView(generation({ generation_time: 2.44, duration: 5 }))?.detail).toBe("done in 2.4 s · 0:05 of audio");
    expect(progressView(generation({ generation_time: null }))?.detail).toBe("done · 0:05 of audio");
    expect(progressView(unfinished({ status: "canceled" }))).toBeNull();
    expect(outcomeText("canceled", "canceled at step 30 of 500")).toBe("Canceled at step 30 of 500.");
    expect(outcomeText("canceled", "canceled before it started")).toBe("Canceled before it started.");
    expect(outcomeText("canceled", null)).toBe("Canceled.");
    expect(outcomeText("failed", null)).toBe("The generation failed.");
  });
});

describe("unknown figures", () => {
  it("show as a dash in the player's details, never a crash", () => {
    const rows = Object.fromEntries(detailRows(unfinished({ status: "failed" })));
    expect(rows["Sample rate"]).toBe("–");
    expect(rows["Generated in"]).toBe("–");
    expect(rows.File).toBe("–");
    const done = Object.fromEntries(detailRows(generation({ generation_time: 2, realtime_factor: 2.5, sample_rate: 32000 })));
    expect(done["Generated in"]).toBe("2.00 s (2.50× realtime)");
    expect(done["Sample rate"]).toBe("32000 Hz");
    expect(done.Worker).toBeUndefined(); // no worker named: no row
    expect(Object.fromEntries(detailRows(generation({ worker: "gpu-a0" }))).Worker).toBe("gpu-a0");
  });
});

describe("extending a track", () => {
  const MAX = API_SCHEMAS.GenerateRequest.duration.maximum;

  it("asks for the whole result: same prompt and sampling settings, the parent's id, a new seed", () => {
    const parent = generation({ generation_id: "p1", prompt: "lo-fi piano", duration: 5.02, top_k: 100, top_p: 0.9, temperature: 0.7, cfg_coef: 4.5, seed: 7, device: "cuda:0", precision: "bfloat16" });
    const body = extendRequest(parent, 10);
    // Exactly these keys: no seed (a new one), no device or precision (the service's own), no continue_seconds (all of it), one track.
    expect(body).toEqual({ prompt: "lo-fi piano", duration: 15, continue_from: "p1", top_k: 100, top_p: 0.9, temperature: 0.7, cfg_coef: 4.5, variations: 1 });
    expect(extendRequest(generation({ duration: 4.6 }), 5).duration).toBe(10);
    expect(Number.isInteger(extendRequest(generation({ duration: 7.35 }), 3).duration)).toBe(true);
  });

  it("keeps the whole result within the service's maximum", () => {
    expect(MAX).toBe(120);
    expect(maxExtension(5)).toBe(MAX - 5);
    expect(maxExtension(4.6)).toBe(115); // 4.6 + 115 rounds to 120
    expect(maxExtension(5.4)).toBe(115); // 120.4 rounds to 120
    expect(maxExtension(5.6)).toBe(114); // 120.6 would round to 121
    expect(maxExtension(119.4)).toBe(1);
    expect(maxExtension(119.6)).toBe(0);
    expect(maxExtension(MAX)).toBe(0);
    for (const duration of [5, 5.49, 5.5, 29.99, 60.2, 110.5, 119.49]) {
      const most = maxExtension(duration);
      expect(extendedDuration(duration, most)).toBeLessThanOrEqual(MAX);
      expect(extendedDuration(duration, most + 1)).toBeGreaterThan(MAX);
      expect(extendedDuration(duration, minExtension(duration))).toBeGreaterThan(duration); // longer than what it continues
    }
    expect(defaultExtension(5)).toBe(10);
    expect(defaultExtension(115)).toBe(5);
    const track = generation({ duration: 5 });
    expect(validateExtension(track, 10)).toBeNull();
    expect(validateExtension(track, 115)).toBeNull();
    expect(validateExtension(track, 116)).toMatch(/1-115/);
    expect(validateExtension(track, 0)).toMatch(/1-115/);
    expect(validateExtension(track, 2.5)).toMatch(/whole number/);
    expect(validateExtension(track, Number.NaN)).toMatch(/whole number/);
    expect(validateExtension(generation({ duration: MAX }), 1)).toBe(cannotExtend(MAX));
    expect(cannotExtend(MAX)).toMatch(/2:00.*cannot be extended/);
    expect(validateExtension(unfinished({ status: "running" }), 10)).toMatch(/finished/);
  });

  it("refuses out-of-bounds seconds without asking the service", async () => {
    const service = fakeService({});
    await expect(extendGeneration(generation({ duration: 110 }), 11)).rejects.toThrow(/1-10/);
    expect(service.calls).toHaveLength(0);
  });

  it("says which track a continuation extends, and where its new music starts", () => {
    expect(continuationLabel(generation({ parent_id: null, prompt_seconds: null }), "x")).toBeNull();
    expect(continuationLabel(generation({ parent_id: "p1", prompt_seconds: 5 }), "lo-fi piano")).toBe("Extends “lo-fi piano” (continued from 0:05)");
    expect(continuationLabel(generation({ parent_id: "p1", prompt_seconds: 30 }), null)).toBe("Extends another track (continued from 0:30)");
    expect(continuationLabel(generation({ parent_id: "p1", prompt_seconds: null }), "lo-fi piano")).toBe("Extends “lo-fi piano”");
    expect(shortPrompt("a".repeat(100))).toHaveLength(60);
    expect(shortPrompt("a".repeat(100)).endsWith("…")).toBe(true);
    const rows = Object.fromEntries(detailRows(generation({ parent_id: "p1", prompt_seconds: 5, duration: 10 }), "lo-fi piano"));
    expect(rows.Extends).toBe("“lo-fi piano”, continued from 0:05");
    expect(Object.fromEntries(detailRows(generation())).Extends).toBeUndefined();
  });
});

describe("stats", () => {
  const totals: Totals = {
    generations: 6,
    queued: 0,
    running: 1,
    succeeded: 3,
    failed: 0,
    canceled: 2,
    success_rate: 1,
    avg_generation_time: 2,
    avg_realtime_factor: 1.5,
    audio_seconds: 15,
    plays: 0,
    downloads: 0,
    favorites: 0,
  };

  it("draws the success rate from its own terms: succeeded and failed, no canceled slice", () => {
    expect(successSlices(totals).map((slice) => [slice.name, slice.value])).toEqual([["Succeeded", 3]]);
    expect(successSlices({ ...totals, failed: 1 }).map((slice) => slice.name)).toEqual(["Succeeded", "Failed"]);
  });

  it("keeps unknown averages unknown (gaps, not zeros)", () => {
    const daily = dailySeries([
      { date: "2026-01-01", total_generations: 0, successful_generations: 0, failed_generations: 0, canceled_generations: 0, avg_generation_time: null },
      { date: "2026-01-02", total_generations: 2, successful_generations: 1, failed_generations: 0, canceled_generations: 1, avg_generation_time: 2.345 },
    ]);
    expect(daily.map((day) => day.time)).toEqual([null, 2.35]);
    expect(deviceRows([{ device: "cpu", precision: "int8", generations: 1, avg_generation_time: null, avg_realtime_factor: null }])[0]).toMatchObject({ rtf: null, time: null });
  });
});

describe("tokens", () => {
  it("are kept in localStorage by generation id, survive a reload, and are forgotten", async () => {
    rememberToken("g1", "t1");
    rememberToken("g2", "t2");
    forgetToken("g2");
    const saved = localStorage.getItem(TOKENS_KEY)!;
    expect(JSON.parse(saved).state.tokens).toEqual({ g1: "t1" });
    // A fresh page: nothing in memory, only what is in localStorage.
    useTokens.setState({ tokens: {} });
    localStorage.setItem(TOKENS_KEY, saved);
    await useTokens.persist.rehydrate();
    expect(tokenFor("g1")).toBe("t1");
    expect(tokenFor("g2")).toBeUndefined();
  });

  it("are kept from POST /generate and sent on cancel and delete", async () => {
    const queued = unfinished({ generation_id: "n1" });
    const service = fakeService({
      "POST /generate": () => json({ ...queued, token: "tok" }, 202),
      "DELETE /generations/n1": ({ method }) => (method === "DELETE" ? new Response(null, { status: 204 }) : json({})),
    });
    await startGeneration({ prompt: "x", duration: 5, top_k: 250, top_p: 0, temperature: 1, cfg_coef: 3, variations: 1 });
    expect(tokenFor("n1")).toBe("tok");
    expect(useAppStore.getState().generations.n1).not.toHaveProperty("token");
    await removeGeneration(generation({ generation_id: "n1" }));
    const [, init] = service.mock.mock.calls.find(([, options]) => options?.method === "DELETE")!;
    expect(new Headers(init!.headers).get("X-Generation-Token")).toBe("tok");
    expect(tokenFor("n1")).toBeUndefined();
    expect(useAppStore.getState().generations.n1).toBeUndefined();
  });

  it("without one, cancel and delete say who may, and ask nothing of the service", async () => {
    const service = fakeService({});
    const error = await removeGeneration(generation({ generation_id: "theirs" })).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toContain(ONLY_THE_CREATOR);
    expect(service.calls).toHaveLength(0);
  });

  it("turn a 401 or 403 into a clear message", async () => {
    fakeService({
      "DELETE /generations/r1": () =>
        json({ error_type: "unauthorized", message: "changing generation r1 needs its token", status_code: 401 }, 401),
    });
    ownTokens({ r1: "t" });
    const error = await removeGeneration(unfinished({ generation_id: "r1", status: "running" })).catch((e) => e);
    expect(error.status).toBe(401);
    expect(error.message).toBe(`The service refused to cancel this generation: changing generation r1 needs its token. ${ONLY_THE_CREATOR}`);
  });

  it("of a generation that is gone already are forgotten with it", async () => {
    fakeService({ "DELETE /generations/gone": () => json({ error_type: "not_found", message: "no generation gone", status_code: 404 }, 404) });
    ownTokens({ gone: "t" });
    useAppStore.getState().upsert(generation({ generation_id: "gone" }));
    await removeGeneration(generation({ generation_id: "gone" }));
    expect(tokenFor("gone")).toBeUndefined();
    expect(useAppStore.getState().generations.gone).toBeUndefined();
  });
});

describe("lists", () => {
  it("merge ids newest first, once each, known ones only", () => {
    const generations = {
      a: generation({ generation_id: "a", id: 1, created_at: "2026-01-01T00:00:00Z" }),
      b: generation({ generation_id: "b", id: 2, created_at: "2026-01-03T00:00:00Z" }),
      c: generation({ generation_id: "c", id: 3, created_at: "2026-01-02T00:00:00Z" }),
    };
    expect(newestFirst(["a", "b", "gone", "c", "b"], generations)).toEqual(["b", "c", "a"]);
  });
});

describe("devices and precisions on offer", () => {
  const status = (fields: Partial<ModelStatus>): ModelStatus => ({
    status: "ready",
    model: "tiny-random",
    backend: "reference",
    device: "cpu",
    precision: "float32",
    reloading: false,
    error_type: null,
    error: null,
    loaded_at: "2026-01-02T03:04:05Z",
    info: null,
    loaded_variants: [],
    devices: [],
    backends: [],
    workers: [],
    ...fields,
  });

  it("without a device list, offers the server's default and loaded variants only", () => {
    const offered = offeredPlacements(
      status({
        loaded_variants: [
          { model: "tiny-random", backend: "reference", device: "cpu", precision: "float32" },
          { model: "tiny-random", backend: "reference", device: "cpu", precision: "int8" },
        ],
      }),
      null,
    );
    expect(offered.devices).toEqual(["cpu"]);
    expect(offered.precisions.cpu).toEqual(["float32", "int8"]);
    expect(offered.defaultDevice).toBe("cpu");
  });

  it("offers exactly the devices the service lists, with their precisions", () => {
    const offered = offeredPlacements(
      status({
        device: "cuda:0",
        precision: "bfloat16",
        loaded_variants: [{ model: "tiny-random", backend: "reference", device: "cpu", precision: "float16" }],
        devices: [
          { device: "cuda", name: "NVIDIA H200", precisions: ["bfloat16", "float16", "float32"] },
          { device: "cpu", name: "cpu", precisions: ["float32", "int8"] },
        ],
      }),
      null,
    );
    expect(offered.devices).toEqual(["cuda", "cpu"]);
    expect(precisionsFor(offered, "cpu")).toEqual(["float32", "int8"]);
    expect(precisionsFor(offered, "cuda:0")).toEqual(["bfloat16", "float16", "float32"]); // the default device
    expect(precisionsFor(offered, "mps")).toEqual([]);
    expect(deviceLabel(offered, "cuda")).toBe("cuda · NVIDIA H200");
    expect(deviceLabel(offered, "cpu")).toBe("cpu");
  });

  it("offers nothing before the model is known", () => {
    expect(offeredPlacements(null, null).devices).toEqual([]);
  });
});

describe("small helpers", () => {
  it("marks random-weight models", () => {
    expect(isRandomModel("tiny-random")).toBe(true);
    expect(isRandomModel("small-random")).toBe(true);
    expect(isRandomModel("facebook/musicgen-small")).toBe(false);
    expect(isRandomModel("/models/mine", { random_weights: true })).toBe(true);
  });

  it("formats", () => {
    expect(formatEta(3.2)).toBe("4 s left");
    expect(formatEta(null)).toBe("estimating…");
    expect(formatEta(75)).toBe("1:15 left");
    expect(formatPercent(0.5)).toBe("50%");
    expect(formatPercent(null)).toBe("–");
    const now = Date.parse("2026-01-02T03:04:05Z");
    expect(formatAgo("2026-01-02T03:04:02Z", now)).toBe("3 s ago");
    expect(formatAgo("2026-01-02T03:02:00Z", now)).toBe("2 min ago");
    expect(formatAgo("2026-01-02T01:00:00Z", now)).toBe("2 h ago");
    expect(formatAgo("2026-01-02T03:04:07Z", now)).toBe("just now"); // a worker whose clock is ahead
    expect(formatAgo(null, now)).toBe("–");
  });

  it("computes waveform peaks", () => {
    expect(computePeaks([0, -1, 0.5, 0.25], 2)).toEqual([1, 0.5]);
    expect(computePeaks(new Float32Array(10), 100)).toHaveLength(10);
  });

  it("reads the NEXT_PUBLIC_* settings", () => {
    const limit = API_PARAMETERS["GET /recent"].limit;
    expect(readConfig({})).toEqual({ apiUrl: "", environment: "production", debug: false, maxRecentTracks: limit.default });
    expect(
      readConfig({
        NEXT_PUBLIC_API_URL: "http://127.0.0.1:8000/",
        NEXT_PUBLIC_ENVIRONMENT: "development",
        NEXT_PUBLIC_DEBUG_MODE: "true",
        NEXT_PUBLIC_MAX_RECENT_TRACKS: "500",
      }),
    ).toEqual({ apiUrl: "http://127.0.0.1:8000", environment: "development", debug: true, maxRecentTracks: limit.maximum });
  });
});

describe("variations", () => {
  const bound = API_SCHEMAS.GenerateRequest.variations;
  const ok = { ...DEFAULT_DRAFT, prompt: "x" };
  /** What POST /generate answers for `count` variations: the first record, the token, and all of them. */
  const created = (count: number, fields: Partial<Generation> = {}) => {
    const batch = Array.from({ length: count }, (_, i) =>
      unfinished({ id: 10 + i, generation_id: `v${i + 1}`, seed: 42 + i, batch_id: count > 1 ? "b1" : null, ...fields }),
    );
    return { ...batch[0], token: "one-token", batch };
  };

  it("take their bound and default from the service's OpenAPI document", () => {
    expect(VARIATIONS).toEqual({ min: bound.minimum, max: bound.maximum });
    expect(DEFAULT_VARIATIONS).toBe(bound.default);
    expect(DEFAULT_DRAFT.variations).toBe(bound.default);
    expect(VARIATION_CHOICES).toEqual(Array.from({ length: bound.maximum - bound.minimum + 1 }, (_, i) => bound.minimum + i));
    expect(VARIATION_CHOICES.at(-1)).toBe(bound.maximum);
  });

  it("are sent in the request (JSON and form), and refused outside the service's bounds", () => {
    expect(toRequest(ok).variations).toBe(bound.default);
    expect(toRequest({ ...ok, variations: 2 })).toMatchObject({ prompt: "x", variations: 2 });
    expect(toRequest({ ...ok, variations: bound.maximum }).variations).toBe(bound.maximum);
    expect(generateForm(toRequest({ ...ok, variations: 2 }), new File(["x"], "a.wav")).get("variations")).toBe("2");
    expect(validateDraft({ ...ok, variations: bound.maximum })).toBeNull();
    expect(validateDraft({ ...ok, variations: bound.minimum })).toBeNull();
    expect(validateDraft({ ...ok, variations: bound.maximum + 1 })).toBe(`Variations must be a whole number ${bound.minimum}-${bound.maximum}.`);
    expect(validateDraft({ ...ok, variations: bound.minimum - 1 })).toMatch(/Variations/);
    expect(validateDraft({ ...ok, variations: 1.5 })).toMatch(/Variations/);
    // An extension is one track.
    expect(extendRequest(generation(), 5).variations).toBe(1);
  });

  it("come back as the records of one batch, in order, without the token", () => {
    const records = batchRecords(created(3));
    expect(records.map((r) => r.generation_id)).toEqual(["v1", "v2", "v3"]);
    for (const record of records) {
      expect(record).not.toHaveProperty("token");
      expect(record).not.toHaveProperty("batch");
    }
    expect(batchIdOf(records)).toBe("b1");
    // A single track (or an older service without `batch`): a list of one, and no batch.
    const { batch: _batch, ...single } = created(1);
    expect(batchRecords(single as never).map((r) => r.generation_id)).toEqual(["v1"]);
    expect(batchRecords(created(1))).toHaveLength(1);
    expect(batchIdOf(batchRecords(created(1)))).toBeNull();
    expect(batchIdOf([generation({ batch_id: "x" }), generation({ batch_id: "y" })])).toBeNull();
  });

  it("are numbered in the order the service made them, and summed up", () => {
    const items = [generation({ id: 7, generation_id: "c" }), generation({ id: 5, generation_id: "a" }), generation({ id: 6, generation_id: "b" })];
    const order = variationOrder(items);
    expect(order).toEqual(["a", "b", "c"]);
    expect(variationPosition("b", order)).toEqual({ index: 2, count: 3 });
    expect(variationOf(variationPosition("b", order)!)).toBe("Variation 2 of 3");
    expect(variationPosition("z", order)).toBeNull();
    expect(variationPosition("a", ["a"])).toBeNull();
    expect(variationPosition("a", undefined)).toBeNull();
    expect(batchSummary(["succeeded", "running", "queued"])).toBe("1 of 3 ready · 2 generating");
    expect(batchSummary(["succeeded", "failed"])).toBe("1 of 2 ready · 1 without audio");
    expect(batchSummary(["succeeded", "succeeded"])).toBe("2 of 2 ready");
  });

  it("are followed one by one, each with the batch's one token, and cancel each with it", async () => {
    const service = fakeService({
      "POST /generate": () => json(created(3), 202),
      "DELETE /generations/v2": () => json({ ...unfinished({ id: 11, generation_id: "v2", batch_id: "b1" }), status: "canceled" }),
    });
    const records = await startGenerations({ ...toRequest({ ...ok, variations: 3 }), seed: 42 });
    expect(service.calls[0].body).toMatchObject({ variations: 3, seed: 42 });
    expect(records.map((r) => r.generation_id)).toEqual(["v1", "v2", "v3"]);
    expect(["v1", "v2", "v3"].map(tokenFor)).toEqual(["one-token", "one-token", "one-token"]);
    const state = useAppStore.getState();
    expect(state.latestBatch).toBe("b1");
    expect(state.batches.b1).toEqual(["v1", "v2", "v3"]);
    expect(state.myJobs.slice(0, 3)).toEqual(["v1", "v2", "v3"]);
    expect(state.generations.v2).not.toHaveProperty("token");
    expect(FakeEventSource.instances.map((s) => s.url)).toEqual(expect.arrayContaining(["/generations/v1/events", "/generations/v2/events", "/generations/v3/events"]));

    await removeGeneration(useAppStore.getState().generations.v2);
    const [, init] = service.mock.mock.calls.find(([, options]) => options?.method === "DELETE")!;
    expect(new Headers(init!.headers).get("X-Generation-Token")).toBe("one-token");
    expect(useAppStore.getState().generations.v2.status).toBe("canceled");

    // The first variation to succeed is not necessarily the first: only the first goes into the player.
    const source = (id: string) => FakeEventSource.instances.find((s) => s.url === `/generations/${id}/events`)!;
    source("v3").emit("status", generation({ id: 12, generation_id: "v3", batch_id: "b1", seed: 44 }));
    expect(useAppStore.getState().currentId).toBeNull();
    source("v1").emit("status", generation({ id: 10, generation_id: "v1", batch_id: "b1", seed: 42 }));
    expect(useAppStore.getState().currentId).toBe("v1");
    expect(useAppStore.getState().autoplay).toBe(false);
  });

  it("stream at most MAX_STREAMS at once; the others are polled, so that requests never wait behind streams", async () => {
    const count = MAX_STREAMS + 2;
    const records = Array.from({ length: count }, (_, i) => unfinished({ id: 40 + i, generation_id: `m${i}`, batch_id: "big" }));
    const service = fakeService({
      "POST /generate": () => json({ ...records[0], token: "t", batch: records }, 202),
      "GET /generations/m3": () => json({ ...records[3], status: "running", queue_position: null }),
      "GET /generations/m4": () => json(generation({ id: 44, generation_id: "m4", batch_id: "big" })),
    });
    await startGenerations(toRequest({ ...ok, variations: 2 }));
    expect(FakeEventSource.instances.map((s) => s.url).filter((url) => /\/m\d\//.test(url))).toEqual(records.slice(0, MAX_STREAMS).map((r) => `/generations/${r.generation_id}/events`));
    expect(isPolled("m3") && isPolled("m4")).toBe(true);
    await waitForExpect(() => expect(useAppStore.getState().generations.m3.status).toBe("running"));
    await waitForExpect(() => expect(useAppStore.getState().generations.m4.status).toBe("succeeded"));
    expect(isPolled("m4")).toBe(false); // finished: no more polling
    expect(service.calls.filter((c) => c.path === "/generations/m4")).toHaveLength(1);
    stop("m3");
    expect(isPolled("m3")).toBe(false);
  });

  it("of one track start no batch (the page behaves as before)", async () => {
    useAppStore.setState({ latestBatch: "old", batches: { old: ["o1", "o2"] } });
    fakeService({ "POST /generate": () => json(created(1), 202) });
    const first = await startGeneration(toRequest(ok));
    expect(first.generation_id).toBe("v1");
    expect(useAppStore.getState().latestBatch).toBeNull();
    expect(useAppStore.getState().batches).toEqual({ old: ["o1", "o2"] }); // still labelled in lists
    expect(tokenFor("v1")).toBe("one-token");
  });

  it("of a batch seen in a list are looked up once, by batch id", async () => {
    const members = [generation({ id: 21, generation_id: "y", batch_id: "b9" }), generation({ id: 20, generation_id: "x", batch_id: "b9" })];
    const service = fakeService({ "GET /recent": ({ url }) => page(url.searchParams.get("batch_id") === "b9" ? members : [], url) });
    const [one, two] = await Promise.all([lookUpBatch("b9"), lookUpBatch("b9")]);
    expect(one).toEqual(["x", "y"]);
    expect(two).toEqual(["x", "y"]);
    expect(await lookUpBatch("b9")).toEqual(["x", "y"]);
    expect(service.calls.map((c) => c.path)).toEqual([`/recent?limit=${bound.maximum}&batch_id=b9`]);
    expect(useAppStore.getState().batches.b9).toEqual(["x", "y"]);
  });
});
