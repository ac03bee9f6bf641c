import { describe, expect, it, vi } from "vitest";

import { ApiError, api, filenameFrom, parseRetryAfter } from "@/lib/api";
import { formatEta, formatPercent, isRandomModel } from "@/lib/format";
import { toRequest, validateDraft } from "@/lib/generateRequest";
import { deviceLabel, offeredPlacements, precisionsFor } from "@/lib/options";
import { computePeaks } from "@/lib/peaks";
import { PlayCounter } from "@/lib/playCounter";
import { DEFAULT_DRAFT } from "@/lib/store";
import type { ModelStatus } from "@/types";
import { readConfig } from "@/utils/config";

import { fakeService, json } from "./helpers";

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
    const error = await api.generate({ prompt: "x", duration: 5, top_k: 250, top_p: 0, temperature: 1, cfg_coef: 3 }).catch((e) => e);
    expect(error.errorType).toBe("model_unavailable");
    expect(error.message).toBe("the model cannot generate: no weights");
  });

  it("says plainly when the service cannot be reached", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const error = await api.health().catch((e) => e);
    expect(error.errorType).toBe("network_error");
    expect(error.message).toMatch(/Cannot reach the Music Genie service/);
  });

  it("finds the file name of a download", () => {
    expect(filenameFrom(`attachment; filename="a.mp3"; filename*=UTF-8''caf%C3%A9.mp3`)).toBe("café.mp3");
    expect(filenameFrom('attachment; filename="beat.wav"')).toBe("beat.wav");
    expect(filenameFrom(null)).toBeUndefined();
  });
});

describe("the Generate form", () => {
  it("sends only what was chosen", () => {
    const body = toRequest({ ...DEFAULT_DRAFT, prompt: "  piano  ", duration: 5 });
    expect(body).toEqual({ prompt: "piano", duration: 5, top_k: 250, top_p: 0, temperature: 1, cfg_coef: 3 });
    expect(toRequest({ ...DEFAULT_DRAFT, prompt: "x", device: "cpu", precision: "int8", seed: "42" })).toMatchObject({
      device: "cpu",
      precision: "int8",
      seed: 42,
    });
  });

  it("says what is wrong", () => {
    expect(validateDraft({ ...DEFAULT_DRAFT, prompt: " " })).toMatch(/prompt/);
    expect(validateDraft({ ...DEFAULT_DRAFT, prompt: "x", duration: 121 })).toMatch(/5-120/);
    expect(validateDraft({ ...DEFAULT_DRAFT, prompt: "x", duration: 4 })).toMatch(/5-120/);
    expect(validateDraft({ ...DEFAULT_DRAFT, prompt: "x", top_p: 2 })).toMatch(/Top-p/);
    expect(validateDraft({ ...DEFAULT_DRAFT, prompt: "x", cfg_coef: 0.5 })).toMatch(/Guidance/);
    expect(validateDraft({ ...DEFAULT_DRAFT, prompt: "x", seed: "99999999999999999999" })).toMatch(/seed/);
    expect(validateDraft({ ...DEFAULT_DRAFT, prompt: "x" })).toBeNull();
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
    loaded_at: 1,
    info: null,
    loaded_variants: [],
    devices: [],
    backends: [],
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
  });

  it("computes waveform peaks", () => {
    expect(computePeaks([0, -1, 0.5, 0.25], 2)).toEqual([1, 0.5]);
    expect(computePeaks(new Float32Array(10), 100)).toHaveLength(10);
  });

  it("reads the NEXT_PUBLIC_* settings", () => {
    expect(readConfig({})).toEqual({ apiUrl: "", environment: "production", debug: false, maxRecentTracks: 20 });
    expect(
      readConfig({
        NEXT_PUBLIC_API_URL: "http://127.0.0.1:8000/",
        NEXT_PUBLIC_ENVIRONMENT: "development",
        NEXT_PUBLIC_DEBUG_MODE: "true",
        NEXT_PUBLIC_MAX_RECENT_TRACKS: "500",
      }),
    ).toEqual({ apiUrl: "http://127.0.0.1:8000", environment: "development", debug: true, maxRecentTracks: 100 });
  });
});
