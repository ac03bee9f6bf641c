import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

import { MusicGenieApp } from "@/components/App";
import { JobCard } from "@/components/audio/JobCard";
import { GenerateTab } from "@/components/tabs/GenerateTab";
import { HistoryTab } from "@/components/tabs/HistoryTab";
import { StatsTab, StatsView } from "@/components/tabs/StatsTab";
import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { ModelBadge, StatusBanner } from "@/components/ui/StatusBanner";
import { ApiError } from "@/lib/api";
import { readAudioSeconds } from "@/lib/audioFile";
import { useAppStore } from "@/lib/store";
import { TOKENS_KEY, tokenFor } from "@/lib/tokens";
import type { Generation, Health, ModelStatus, Stats, WorkerStatus } from "@/types";
import { API_SCHEMAS } from "@/types/api.constants";

import { FakeEventSource, fakeService, generation, json, ownTokens, page, resetStore, unfinished } from "./helpers";

// jsdom reads no audio: each test says how long the picked file is (tests/logic.test.ts tests the reading).
vi.mock("@/lib/audioFile", () => ({ readAudioSeconds: vi.fn(async () => null) }));

/** A generation worker as /health and /model/status list it: by default the service's own process. */
function worker(fields: Partial<WorkerStatus> = {}): WorkerStatus {
  return {
    name: "localhost:4242",
    host: "localhost",
    pid: 4242,
    status: "ready",
    model: "tiny-random",
    backend: "reference",
    device: "cpu",
    precision: "float32",
    max_batch: 4,
    running: [],
    last_heartbeat: new Date().toISOString(),
    ...fields,
  };
}

function health(model: Record<string, unknown>, fields: Partial<Health> = {}): Health {
  return {
    status: "ok",
    version: "0.1.0",
    environment: "test",
    uptime_s: 1,
    database: { ok: true },
    model: { status: "ready", model: "tiny-random", device: "cpu", precision: "float32", backend: "reference", error: null, ...model },
    queue: { depth: 0, capacity: 16, running: null, accepting: true },
    workers: [worker()],
    system: {},
    gpu: null,
    storage: { ok: true, writable: true, free_bytes: 10 ** 10, needed_bytes: 10 ** 8 },
    ...fields,
  };
}

function modelStatus(fields: Partial<ModelStatus> = {}): ModelStatus {
  return {
    status: "ready",
    model: "tiny-random",
    backend: "reference",
    device: "cpu",
    precision: "float32",
    reloading: false,
    error_type: null,
    error: null,
    loaded_at: "2026-01-02T03:04:05Z",
    info: { random_weights: true },
    loaded_variants: [{ model: "tiny-random", backend: "reference", device: "cpu", precision: "float32" }],
    devices: [{ device: "cpu", name: "x86_64", precisions: ["float32", "bfloat16", "int8"] }],
    backends: [{ backend: "reference", precisions: ["float32", "bfloat16", "float16", "int8"] }],
    workers: [worker()],
    ...fields,
  };
}

/** The service's latest generations are in the Generate tab: an empty library unless a test says otherwise. */
const emptyRecent = { "GET /recent": ({ url }: { url: URL }) => page([], url) };
/** The Generate tab's list has its (empty) answer: nothing changes after the test any more. */
const latestLoaded = () => screen.findByText(/Nothing yet/);

beforeEach(() => {
  resetStore();
  FakeEventSource.instances = [];
  vi.stubGlobal("EventSource", FakeEventSource);
  vi.stubGlobal("confirm", () => true);
});

describe("ErrorMessage", () => {
  it("shows the service's message and when to try again", () => {
    vi.useFakeTimers();
    const onRetry = vi.fn();
    render(<ErrorMessage error={new ApiError(429, "rate_limited", "too many requests; retry in 3 s", { retryAfter: 3 })} onRetry={onRetry} />);
    // One countdown, on the button: not the answer's "retry in 3 s" nor a line beside it.
    expect(screen.getByRole("alert")).toHaveTextContent(/^Too many requeststoo many requestsRetry in 3 s$/);
    expect(screen.getByRole("button", { name: "Retry in 3 s" })).toBeDisabled();
    act(() => vi.advanceTimersByTime(3100));
    const retry = screen.getByRole("button", { name: "Retry" });
    expect(retry).toBeEnabled();
    fireEvent.click(retry);
    expect(onRetry).toHaveBeenCalled();
  });

  it("counts down in a line where there is no button", () => {
    vi.useFakeTimers();
    render(<ErrorMessage error={new ApiError(429, "rate_limited", "too many requests to GET /recent; try again in 5 s", { retryAfter: 5 })} />);
    expect(screen.getByRole("alert")).toHaveTextContent(/^Too many requeststoo many requests to GET \/recentYou can try again in 5 s\.$/);
  });
});

describe("Latest generations", () => {
  it("shows the error alone when the list cannot be read, not an empty library", async () => {
    fakeService({
      "GET /recent": () => json({ error_type: "rate_limited", message: "too many requests", status_code: 429 }, 429, { "Retry-After": "30" }),
    });
    render(<GenerateTab />);
    expect(await screen.findByText(/too many requests/)).toBeInTheDocument();
    expect(screen.queryByText(/Nothing yet/)).not.toBeInTheDocument();
  });
});

describe("StatusBanner and ModelBadge", () => {
  it("says the model is loading", () => {
    useAppStore.setState({ health: health({ status: "loading" }) });
    render(<StatusBanner />);
    expect(screen.getByTestId("status-banner")).toHaveTextContent("Loading the model tiny-random");
  });

  it("gives the server's reason when the model is unavailable", () => {
    useAppStore.setState({ health: health({ status: "error", model: "facebook/musicgen-small", error: "no weights in ./models and the hub is unreachable" }) });
    render(<StatusBanner />);
    const banner = screen.getByRole("alert");
    expect(banner).toHaveTextContent("The model facebook/musicgen-small is unavailable");
    expect(banner).toHaveTextContent("no weights in ./models and the hub is unreachable");
  });

  it("says when the service cannot be reached", () => {
    useAppStore.setState({ healthError: "Cannot reach the Music Genie service" });
    render(<StatusBanner />);
    expect(screen.getByRole("alert")).toHaveTextContent("cannot be reached");
  });

  it("shows nothing when all is well, and marks tiny-random as noise", () => {
    useAppStore.setState({ health: health({}) });
    render(
      <>
        <StatusBanner />
        <ModelBadge />
      </>,
    );
    expect(screen.queryByTestId("status-banner")).toBeNull();
    expect(screen.getByTestId("noise-warning")).toHaveTextContent("output is noise");
  });

  it("warns when no generation worker is running (scale-out): jobs wait, the model is not just loading", () => {
    // What QUEUE=saq answers before any `musicgenie worker` is up: the model "loads" until one reports.
    useAppStore.setState({ health: health({ status: "loading", error: "no worker is running" }, { status: "starting", workers: [] }) });
    render(<StatusBanner />);
    const banner = screen.getByTestId("status-banner");
    expect(banner).toHaveTextContent("No generation worker is running");
    expect(banner).toHaveTextContent("Jobs wait until one starts (musicgenie worker).");
    expect(banner).not.toHaveTextContent("Loading the model");
  });

  it("does not mark a real model", () => {
    useAppStore.setState({ health: health({ model: "facebook/musicgen-small" }) });
    render(<ModelBadge />);
    expect(screen.getByText("facebook/musicgen-small")).toBeInTheDocument();
    expect(screen.queryByTestId("noise-warning")).toBeNull();
  });
});

describe("GenerateTab", () => {
  it("sends a negative prompt, and refuses one without guidance", async () => {
    const user = userEvent.setup();
    const service = fakeService({ ...emptyRecent, "POST /generate": () => json({ ...unfinished({ generation_id: "n1" }), token: "t" }, 202) });
    useAppStore.setState({ health: health({}) });
    render(<GenerateTab />);
    await user.type(screen.getByLabelText("Prompt", { selector: "textarea" }), "ambient pads");
    await user.click(screen.getByText("Advanced settings"));
    await user.type(screen.getByLabelText("Negative prompt"), "drums");
    fireEvent.change(screen.getByLabelText("Guidance"), { target: { value: "1" } });
    await user.click(screen.getByRole("button", { name: "Generate" }));
    expect(await screen.findByText(/negative prompt needs guidance above 1/)).toBeInTheDocument();
    expect(service.calls.find((c) => c.method === "POST")).toBeUndefined();
    fireEvent.change(screen.getByLabelText("Guidance"), { target: { value: "3" } });
    await user.click(screen.getByRole("button", { name: "Generate" }));
    await waitFor(() => expect(service.calls.find((c) => c.method === "POST")?.body).toMatchObject({ prompt: "ambient pads", negative_prompt: "drums", cfg_coef: 3 }));
  });

  it("queues a generation with the chosen settings, keeps its token and follows its phases", async () => {
    const user = userEvent.setup();
    const queued = unfinished({ generation_id: "new1", prompt: "calm acoustic guitar fingerpicking, campfire mood", seed: 42, queue_position: 2 });
    const service = fakeService({
      ...emptyRecent,
      "POST /generate": () => json({ ...queued, token: "secret-new1" }, 202),
    });
    useAppStore.setState({ health: health({}) });
    render(<GenerateTab />);
    await user.click(screen.getByRole("button", { name: "calm acoustic guitar fingerpicking, campfire mood" }));
    expect(screen.getByLabelText("Prompt", { selector: "textarea" })).toHaveValue("calm acoustic guitar fingerpicking, campfire mood");
    fireEvent.change(screen.getByLabelText("Duration in seconds"), { target: { value: "5" } });
    await user.click(screen.getByText("Advanced settings"));
    await user.type(screen.getByLabelText("Seed"), "42");
    await user.click(screen.getByRole("button", { name: "Generate" }));

    const post = service.calls.find((c) => c.method === "POST");
    expect(post?.body).toEqual({ prompt: "calm acoustic guitar fingerpicking, campfire mood", duration: 5, top_k: 250, top_p: 0, temperature: 1, cfg_coef: 3, seed: 42, variations: 1 });
    const job = await screen.findByTestId("job");
    expect(job).toHaveAttribute("data-status", "queued");
    expect(job).toHaveTextContent("position 2 in the queue");
    // The token is this browser's (in localStorage, by id), not part of the record it keeps.
    expect(tokenFor("new1")).toBe("secret-new1");
    expect(JSON.parse(localStorage.getItem(TOKENS_KEY) ?? "{}").state.tokens).toEqual({ new1: "secret-new1" });
    expect(useAppStore.getState().generations.new1).not.toHaveProperty("token");
    expect(within(job).getByRole("button", { name: /Cancel the generation/ })).toBeEnabled();

    // The job's own events move it up the queue: the page asks nothing else of the service.
    const events = FakeEventSource.instances.find((source) => source.url.endsWith("/generations/new1/events"));
    expect(events).toBeDefined();
    const calls = service.calls.length;
    await act(async () => events!.emit("progress", { generation_id: "new1", phase: "queued", step: 0, total_steps: 0, fraction: 0, elapsed_s: 0, eta_s: null, queue_position: 1 }));
    expect(job).toHaveTextContent("next in line");
    expect(service.calls.length).toBe(calls);
    await act(async () => events!.emit("status", { ...queued, status: "running", queue_position: null, progress: { phase: "encoding_text", step: 0, total_steps: 250, fraction: 0.01, eta_s: null } }));
    expect(within(job).getByTestId("progress-phase")).toHaveTextContent("Encoding the prompt");
    expect(job).toHaveTextContent("estimating…");
    const bar = () => within(job).getByRole("progressbar");
    const progress = (fields: Record<string, unknown>) =>
      act(async () => events!.emit("progress", { generation_id: "new1", step: 0, total_steps: 250, elapsed_s: 1, eta_s: null, queue_position: null, ...fields }));
    await progress({ phase: "generating", step: 120, fraction: 0.5, eta_s: 1.2 });
    expect(bar()).toHaveAttribute("aria-valuenow", "50");
    expect(within(job).getByTestId("progress-phase")).toHaveTextContent("Generating · step 120/250");
    expect(job).toHaveTextContent("2 s left");
    await progress({ phase: "decoding_audio", step: 250, fraction: 0.97, eta_s: 0.3 });
    expect(within(job).getByTestId("progress-phase")).toHaveTextContent("Decoding audio");
    await progress({ phase: "writing", step: 250, fraction: 0.999, eta_s: 0.01 });
    expect(within(job).getByTestId("progress-phase")).toHaveTextContent("Writing the file");
    // The file is on disk (1.0) but the record is not succeeded yet: the bar does not say 100%.
    await progress({ phase: "finished", step: 250, fraction: 1, eta_s: null });
    expect(bar()).toHaveAttribute("aria-valuenow", "99");
    expect(within(job).getByTestId("progress-percent")).toHaveTextContent("99%");
    await act(async () => events!.emit("status", generation({ ...queued, status: "succeeded", generation_time: 2.4 })));
    expect(bar()).toHaveAttribute("aria-valuenow", "100");
    expect(job).toHaveTextContent("done in 2.4 s");
    expect(useAppStore.getState().currentId).toBe("new1");
    expect(events!.readyState).toBe(FakeEventSource.CLOSED);
    await screen.findByTestId("latest-list");
  });

  it("takes its limits and defaults from the service's OpenAPI document", async () => {
    fakeService(emptyRecent);
    render(<GenerateTab />);
    const fields = API_SCHEMAS.GenerateRequest;
    expect(screen.getByLabelText("Prompt", { selector: "textarea" })).toHaveAttribute("maxLength", String(fields.prompt.maxLength));
    const duration = screen.getByLabelText("Duration in seconds");
    expect(duration).toHaveAttribute("min", String(fields.duration.minimum));
    expect(duration).toHaveAttribute("max", String(fields.duration.maximum));
    expect(duration).toHaveValue(fields.duration.default);
    expect(screen.getByLabelText("Guidance")).toHaveAttribute("max", String(fields.cfg_coef.maximum));
    expect(screen.getByLabelText("Top-k")).toHaveAttribute("max", String(fields.top_k.maximum));
    expect(screen.getByText(`(${fields.duration.minimum}-${fields.duration.maximum} s)`)).toBeInTheDocument();
    await latestLoaded();
  });

  it("refuses an empty prompt with a message", async () => {
    const service = fakeService(emptyRecent);
    render(<GenerateTab />);
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Describe the music you want");
    expect(service.calls.filter((c) => c.method === "POST")).toHaveLength(0);
  });

  it("says when to try again after a rate limit", async () => {
    fakeService({
      ...emptyRecent,
      "POST /generate": () =>
        json({ error_type: "rate_limited", message: "too many requests to POST /generate; retry in 42 s", status_code: 429 }, 429, { "Retry-After": "42" }),
    });
    useAppStore.setState({ draft: { ...useAppStore.getState().draft, prompt: "drums" } });
    render(<GenerateTab />);
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/^Too many requeststoo many requests to POST \/generate$/);
    // The one countdown is the button's (it starts in an effect).
    expect(await screen.findByRole("button", { name: "Try again in 42 s" })).toBeDisabled();
    await latestLoaded();
  });

  it("offers exactly the devices and precisions the service lists", async () => {
    fakeService(emptyRecent);
    useAppStore.setState({ health: health({}), modelStatus: modelStatus() });
    render(<GenerateTab />);
    const devices = within(screen.getByLabelText("Device")).getAllByRole("option").map((o) => o.textContent);
    expect(devices).toEqual(["Server default (cpu)", "cpu · x86_64"]);
    const precisions = within(screen.getByLabelText("Precision")).getAllByRole("option").map((o) => o.textContent);
    expect(precisions).toEqual(["Server default (float32)", "float32", "bfloat16", "int8"]);
    await latestLoaded();
  });

  it("offers a GPU's precisions for its default device and each device's own", async () => {
    fakeService(emptyRecent);
    useAppStore.setState({
      health: health({ device: "cuda:0", precision: "bfloat16" }),
      modelStatus: modelStatus({
        device: "cuda:0",
        precision: "bfloat16",
        devices: [
          { device: "cuda", name: "NVIDIA H200", precisions: ["bfloat16", "float16", "float32"] },
          { device: "cpu", name: "x86_64", precisions: ["float32", "int8"] },
        ],
      }),
    });
    render(<GenerateTab />);
    const options = (name: string) => within(screen.getByLabelText(name)).getAllByRole("option").map((o) => o.textContent);
    expect(options("Device")).toEqual(["Server default (cuda:0)", "cuda · NVIDIA H200", "cpu · x86_64"]);
    expect(options("Precision")).toEqual(["Server default (bfloat16)", "bfloat16", "float16", "float32"]);
    await userEvent.selectOptions(screen.getByLabelText("Device"), "cpu");
    expect(options("Precision")).toEqual(["Server default", "float32", "int8"]);
  });
});

describe("variations", () => {
  const bound = API_SCHEMAS.GenerateRequest.variations;
  const variation = (i: number, fields: Partial<Generation> = {}) =>
    unfinished({ id: 30 + i, generation_id: `var${i}`, prompt: "dub techno chords", seed: 100 + i, batch_id: "batch1", ...fields });

  it("are offered 1 to the service's maximum, one by default", async () => {
    fakeService(emptyRecent);
    render(<GenerateTab />);
    const radios = within(screen.getByRole("group", { name: "Variations" })).getAllByRole("radio");
    expect(radios.map((radio) => radio.getAttribute("value"))).toEqual(Array.from({ length: bound.maximum }, (_, i) => String(i + 1)));
    expect(within(screen.getByRole("group", { name: "Variations" })).getByRole("radio", { name: String(bound.default) })).toBeChecked();
    await latestLoaded();
  });

  it("are sent, followed side by side with their own progress, seed and cancel, then play and download each", async () => {
    const user = userEvent.setup();
    const batch = [variation(0), variation(1)];
    const service = fakeService({
      ...emptyRecent,
      "POST /generate": () => json({ ...batch[0], token: "batch-token", batch }, 202),
      "DELETE /generations/var1": () => json({ ...batch[1], status: "canceled", error_message: "canceled at step 3 of 250" }),
    });
    useAppStore.setState({ health: health({}) });
    const scrolled = vi.fn();
    Element.prototype.scrollIntoView = scrolled; // jsdom has none
    render(<GenerateTab />);
    await user.type(screen.getByLabelText("Prompt", { selector: "textarea" }), "dub techno chords");
    await user.click(within(screen.getByRole("group", { name: "Variations" })).getByRole("radio", { name: "2" }));
    expect(screen.getByText(/2 tracks of the same prompt/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Generate" }));

    expect(service.calls.find((c) => c.method === "POST")?.body).toMatchObject({ prompt: "dub techno chords", variations: 2 });
    const view = await screen.findByTestId("batch-view");
    // Brought into view (they open below the form), once.
    await waitFor(() => expect(scrolled).toHaveBeenCalledTimes(1));
    expect(scrolled.mock.contexts[0]).toBe(view);
    expect(scrolled.mock.calls[0][0]).toMatchObject({ block: "nearest" });
    expect(within(view).getByTestId("variation-grid")).toHaveClass("grid-cols-1", "md:grid-cols-2");
    const cards = within(view).getAllByTestId("variation");
    expect(cards.map((card) => within(card).getByTestId("variation-title").textContent)).toEqual(["Variation 1", "Variation 2"]);
    expect(cards.map((card) => within(card).getByTestId("variation-seed").textContent)).toEqual(["seed 100", "seed 101"]);
    expect(cards.map((card) => card.getAttribute("data-status"))).toEqual(["queued", "queued"]);
    expect(within(view).getByTestId("batch-summary")).toHaveTextContent("0 of 2 ready · 2 generating");
    // One token for the batch, kept for every variation.
    expect(tokenFor("var0")).toBe("batch-token");
    expect(tokenFor("var1")).toBe("batch-token");

    // Each follows its own events: progress on one moves only its own bar.
    const source = (id: string) => FakeEventSource.instances.find((s) => s.url === `/generations/${id}/events`)!;
    const running = (i: number, fraction: number) =>
      act(async () => {
        source(`var${i}`).emit("status", { ...batch[i], status: "running", queue_position: null, progress: { phase: "generating", step: 10, total_steps: 250, fraction, eta_s: 3 } });
      });
    await running(0, 0.4);
    await running(1, 0.4);
    await act(async () => source("var0").emit("progress", { generation_id: "var0", phase: "generating", step: 150, total_steps: 250, fraction: 0.6, elapsed_s: 1, eta_s: 1, queue_position: null }));
    expect(within(cards[0]).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "60");
    expect(within(cards[1]).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "40");

    // Cancel one with the batch's token: the other goes on.
    await user.click(within(cards[1]).getByRole("button", { name: "Cancel Variation 2" }));
    await waitFor(() => expect(within(view).getAllByTestId("variation")[1]).toHaveAttribute("data-status", "canceled"));
    const call = service.mock.mock.calls.find(([, init]) => init?.method === "DELETE");
    expect(new Headers(call?.[1]?.headers).get("X-Generation-Token")).toBe("batch-token");
    expect(within(view).getAllByTestId("variation")[0]).toHaveAttribute("data-status", "running");

    await act(async () => source("var0").emit("status", generation({ ...batch[0], status: "succeeded" })));
    const done = within(view).getAllByTestId("variation")[0];
    expect(within(done).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
    expect(within(done).getByRole("button", { name: "Download Variation 1" })).toBeEnabled();
    expect(within(view).getByTestId("batch-summary")).toHaveTextContent("1 of 2 ready · 1 without audio");
    // The first variation goes into the player (not playing); another plays on request.
    expect(useAppStore.getState().currentId).toBe("var0");
    await user.click(within(done).getByRole("button", { name: "Play Variation 1" }));
    expect(useAppStore.getState().autoplay).toBe(true);
    // The latest generations say which variation each one is.
    await waitFor(() => expect(screen.getAllByTestId("batch-badge").map((badge) => badge.textContent).sort()).toEqual(["Variation 1 of 2", "Variation 2 of 2"]));
    expect(scrolled).toHaveBeenCalledTimes(1); // not again at each update
  });

  it("of one track show no batch view, as before", async () => {
    const user = userEvent.setup();
    fakeService({ ...emptyRecent, "POST /generate": () => json({ ...unfinished({ generation_id: "one" }), token: "t", batch: [unfinished({ generation_id: "one" })] }, 202) });
    useAppStore.setState({ health: health({}) });
    render(<GenerateTab />);
    await user.type(screen.getByLabelText("Prompt", { selector: "textarea" }), "piano");
    await user.click(screen.getByRole("button", { name: "Generate" }));
    expect(await screen.findByTestId("job")).toHaveAttribute("data-generation-id", "one");
    expect(screen.queryByTestId("batch-view")).toBeNull();
    expect(screen.queryByTestId("batch-badge")).toBeNull();
  });

  it("are labelled in History, the batch looked up once", async () => {
    const members = [
      generation({ id: 2, generation_id: "h2", prompt: "harp", batch_id: "hb", seed: 8 }),
      generation({ id: 1, generation_id: "h1", prompt: "harp", batch_id: "hb", seed: 7 }),
      generation({ id: 0, generation_id: "solo", prompt: "flute" }),
    ];
    const service = fakeService({
      "GET /recent": ({ url }) => {
        const batchId = url.searchParams.get("batch_id");
        return page(batchId ? members.filter((m) => m.batch_id === batchId) : members, url);
      },
    });
    render(<HistoryTab />);
    await waitFor(() => expect(screen.getAllByTestId("batch-badge").map((badge) => badge.textContent)).toEqual(["Variation 2 of 2", "Variation 1 of 2"]));
    expect(within(screen.getByText("flute").closest("li")!).queryByTestId("batch-badge")).toBeNull();
    expect(service.calls.filter((c) => c.path.includes("batch_id=hb"))).toHaveLength(1);
  });
});

describe("GenerateTab's latest generations", () => {
  it("lists the service's newest generations, whoever made them; only its own jobs can be canceled here", async () => {
    const elsewhere = unfinished({ generation_id: "other", id: 2, prompt: "made in another browser", status: "running", created_at: "2026-01-02T03:05:00Z" });
    const mine = unfinished({ generation_id: "mine", id: 3, prompt: "made here", status: "running", created_at: "2026-01-02T03:06:00Z" });
    const older = generation({ generation_id: "old", id: 1, prompt: "an older track", created_at: "2026-01-01T00:00:00Z" });
    const service = fakeService({ "GET /recent": ({ url }) => page([mine, elsewhere, older], url) });
    ownTokens({ mine: "t-mine" });
    render(<GenerateTab />);
    await waitFor(() => expect(screen.getAllByTestId("job")).toHaveLength(3));
    expect(screen.getAllByTestId("job").map((job) => job.getAttribute("data-generation-id"))).toEqual(["mine", "other", "old"]);
    expect(service.calls[0].path).toMatch(/^\/recent\?limit=\d+$/);
    const jobOf = (id: string) => screen.getAllByTestId("job").find((job) => job.getAttribute("data-generation-id") === id)!;
    expect(within(jobOf("mine")).getByRole("button", { name: /Cancel/ })).toBeInTheDocument();
    expect(within(jobOf("other")).queryByRole("button", { name: /Cancel/ })).toBeNull();
  });

  it("warns about random weights once, not on every card", async () => {
    const tracks = [1, 2, 3].map((n) => generation({ generation_id: `t${n}`, id: n, prompt: `track ${n}` }));
    fakeService({
      "GET /health": () => json(health({})),
      "GET /model/status": () => json(modelStatus()),
      "GET /recent": ({ url }) => page(tracks, url),
      "GET /generations/t1/peaks": () => json({ error_type: "not_found", message: "no", status_code: 404 }, 404),
    });
    render(<MusicGenieApp />);
    await waitFor(() => expect(screen.getAllByTestId("job")).toHaveLength(3));
    expect(await screen.findByTestId("noise-warning")).toBeInTheDocument();
    expect(screen.getAllByText(/noise/i)).toHaveLength(1);
  });
});

describe("a track in the player", () => {
  it("is marked in the lists: now playing (aria-current), and its button pauses it", async () => {
    const track = generation({ generation_id: "p1", prompt: "jazz trio" });
    fakeService({ "GET /recent": ({ url }) => page([track, generation({ generation_id: "p2", id: 2, prompt: "techno" })], url) });
    render(<HistoryTab />);
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(2));
    const card = () => screen.getByText("jazz trio").closest("li")!;
    expect(card()).not.toHaveAttribute("aria-current");
    await userEvent.click(screen.getByRole("button", { name: "Play jazz trio" }));
    expect(useAppStore.getState()).toMatchObject({ currentId: "p1", autoplay: true });
    expect(card()).toHaveAttribute("aria-current", "true");
    expect(within(card()).getByTestId("now-playing")).toHaveTextContent("In the player");
    act(() => useAppStore.getState().setPlaying(true)); // the player's audio started
    expect(within(card()).getByTestId("now-playing")).toHaveTextContent("Now playing");
    expect(screen.getByText("techno").closest("li")).not.toHaveAttribute("aria-current");
    await userEvent.click(within(card()).getByRole("button", { name: "Pause jazz trio" }));
    expect(useAppStore.getState().autoplay).toBe(false);
  });
});

describe("JobCard", () => {
  it("cancels a running job with its token", async () => {
    const running = unfinished({ generation_id: "r1", status: "running" });
    const service = fakeService({ "DELETE /generations/r1": () => json({ ...running, status: "canceled", error_message: "canceled at step 30 of 250" }) });
    useAppStore.setState({ generations: { r1: running }, myJobs: ["r1"] });
    ownTokens({ r1: "t-r1" });
    render(
      <ul>
        <JobCard id="r1" />
      </ul>,
    );
    await userEvent.click(screen.getByRole("button", { name: /Cancel the generation/ }));
    await waitFor(() => expect(screen.getByTestId("job")).toHaveAttribute("data-status", "canceled"));
    const call = service.mock.mock.calls.find(([, init]) => init?.method === "DELETE");
    expect(new Headers(call?.[1]?.headers).get("X-Generation-Token")).toBe("t-r1");
    expect(screen.getByTestId("job")).toHaveTextContent("Canceled at step 30 of 250.");
    expect(tokenFor("r1")).toBe("t-r1"); // a canceled job can still be deleted
  });

  it("offers no cancel for a job this browser did not start", () => {
    useAppStore.setState({ generations: { r2: unfinished({ generation_id: "r2", status: "running" }) } });
    render(
      <ul>
        <JobCard id="r2" />
      </ul>,
    );
    expect(screen.queryByRole("button", { name: /Cancel/ })).toBeNull();
  });

  it("shows a success whose figures are unknown without crashing", () => {
    useAppStore.setState({ generations: { s1: generation({ generation_id: "s1", generation_time: null, realtime_factor: null, file_size_mb: null, sample_rate: null }) } });
    render(
      <ul>
        <JobCard id="s1" />
      </ul>,
    );
    expect(screen.getByTestId("job")).toHaveTextContent("done · 0:05 of audio");
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
  });

  it("shows a waiting job's place in the queue as the service reports it", () => {
    useAppStore.setState({ generations: { q1: unfinished({ generation_id: "q1", queue_position: 3 }) }, myJobs: ["q1"] });
    render(
      <ul>
        <JobCard id="q1" />
      </ul>,
    );
    expect(screen.getByTestId("job")).toHaveTextContent("position 3 in the queue");
    act(() => useAppStore.getState().patch("q1", { queue_position: null }));
    expect(screen.getByTestId("job")).toHaveTextContent("waiting in the queue");
  });

  it("plays a running job's stream, then hands the finished file to the player", async () => {
    useAppStore.setState({ generations: { l1: unfinished({ generation_id: "l1", status: "running" }) }, currentId: null });
    render(
      <ul>
        <JobCard id="l1" />
      </ul>,
    );
    await userEvent.click(screen.getByRole("button", { name: /Listen to .* while it generates/ }));
    const live = screen.getByTestId("live-audio");
    expect(live.getAttribute("src")).toMatch(/\/generations\/l1\/stream$/);
    expect(useAppStore.getState().currentId).toBeNull(); // the stream plays on its own until the end
    act(() => useAppStore.getState().patch("l1", { status: "succeeded" }));
    expect(screen.queryByTestId("live-audio")).toBeNull();
    expect(useAppStore.getState().currentId).toBe("l1");
    expect(useAppStore.getState().autoplay).toBe(true);
  });

  it("ends the stream without playing anything when the job is canceled", async () => {
    useAppStore.setState({ generations: { l2: unfinished({ generation_id: "l2", status: "running" }) }, currentId: null });
    render(
      <ul>
        <JobCard id="l2" />
      </ul>,
    );
    await userEvent.click(screen.getByRole("button", { name: /while it generates/ }));
    act(() => useAppStore.getState().patch("l2", { status: "canceled" }));
    expect(screen.queryByTestId("live-audio")).toBeNull();
    expect(screen.queryByRole("button", { name: /while it generates/ })).toBeNull();
    expect(useAppStore.getState().currentId).toBeNull();
  });

  it("shows why a job failed", () => {
    useAppStore.setState({ generations: { f1: unfinished({ generation_id: "f1", status: "failed", error_type: "model_unavailable", error_message: "the model could not be loaded" }) } });
    render(
      <ul>
        <JobCard id="f1" />
      </ul>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("the model could not be loaded");
  });
});

describe("HistoryTab", () => {
  const items = [
    generation({ generation_id: "a", prompt: "jazz trio", is_favorited: true, play_count: 3 }),
    unfinished({ generation_id: "b", prompt: "techno", status: "running", progress: { phase: "generating", step: 10, total_steps: 40, fraction: 0.25, eta_s: 3 } }),
  ];

  it("lists, searches, filters favourites, and deletes", async () => {
    const user = userEvent.setup();
    const deleted = new Set<string>();
    const live = () => items.filter((i) => !deleted.has(i.generation_id));
    const service = fakeService({
      "GET /recent": ({ url }) => page(live(), url),
      "GET /search": ({ url }) => page(live(), url),
      "DELETE /generations/a": () => {
        deleted.add("a");
        return new Response(null, { status: 204 });
      },
    });
    ownTokens({ a: "t-a" });
    render(<HistoryTab />);
    expect(await screen.findAllByTestId("generation-card")).toHaveLength(2);
    expect(screen.getByText("techno").closest("li")).toHaveTextContent("Generating");
    expect(within(screen.getByText("techno").closest("li")!).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "25");
    expect(screen.getByText("techno").closest("li")).toHaveTextContent("Generating · step 10/40");
    // Only the track this browser made can be deleted (or canceled) here.
    expect(within(screen.getByText("techno").closest("li")!).queryByRole("button", { name: /Cancel|Delete/ })).toBeNull();
    expect(FakeEventSource.instances.map((s) => s.url)).toContain("/generations/b/events");

    await user.click(screen.getByLabelText("Favourites only"));
    await waitFor(() => expect(service.calls.some((c) => c.path === "/recent?limit=20&favorite=true")).toBe(true));
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(1));
    await user.click(screen.getByLabelText("Favourites only"));

    await user.type(screen.getByLabelText("Search prompts"), "jazz");
    await waitFor(() => expect(service.calls.some((c) => c.path.startsWith("/search?q=jazz"))).toBe(true));
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(1));

    await user.click(screen.getByRole("button", { name: "Delete jazz trio" }));
    await waitFor(() => expect(service.calls.some((c) => c.method === "DELETE")).toBe(true));
    await waitFor(() => expect(useAppStore.getState().generations.a).toBeUndefined());
    expect(await screen.findByText("No generation's prompt contains “jazz”.")).toBeInTheDocument();
    expect(tokenFor("a")).toBeUndefined(); // deleted: its token is forgotten
  });

  it("says plainly when the service refuses a delete, and keeps going", async () => {
    fakeService({
      "GET /recent": ({ url }) => page([generation({ generation_id: "x", prompt: "lo-fi" })], url),
      "DELETE /generations/x": () =>
        json({ error_type: "forbidden", message: "the X-Generation-Token header does not hold this generation's token", status_code: 403 }, 403),
    });
    ownTokens({ x: "stale" });
    render(<HistoryTab />);
    await userEvent.click(await screen.findByRole("button", { name: "Delete lo-fi" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not delete it");
    expect(alert).toHaveTextContent("The service refused to delete this generation: the X-Generation-Token header does not hold this generation's token.");
    expect(alert).toHaveTextContent("Only the browser that created a generation can cancel or delete it.");
    expect(screen.getByTestId("generation-card")).toBeInTheDocument();
  });

  it("stars with the explicit form: favorite true, then false", async () => {
    const service = fakeService({
      "GET /recent": ({ url }) => page([generation({ generation_id: "f", prompt: "waltz" })], url),
      "POST /favorite": ({ body }) => json({ generation_id: "f", is_favorited: (body as { favorite: boolean }).favorite }),
    });
    render(<HistoryTab />);
    await userEvent.click(await screen.findByRole("button", { name: "Add waltz to favourites" }));
    await userEvent.click(await screen.findByRole("button", { name: "Remove waltz from favourites" }));
    expect(service.calls.filter((c) => c.method === "POST").map((c) => c.body)).toEqual([
      { generation_id: "f", favorite: true },
      { generation_id: "f", favorite: false },
    ]);
  });

  it("pages with offset and filters favourites on the service", async () => {
    const user = userEvent.setup();
    const library = Array.from({ length: 45 }, (_, i) =>
      generation({ generation_id: `t${i}`, id: 100 - i, prompt: `take ${i}`, is_favorited: i % 10 === 0 }),
    );
    const service = fakeService({ "GET /recent": ({ url }) => page(library, url) });
    render(<HistoryTab />);
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(20));
    expect(await screen.findByText("20 of 45 shown")).toBeInTheDocument();

    await user.click(await screen.findByRole("button", { name: "Load more (25 left)" }));
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(40));
    await user.click(await screen.findByRole("button", { name: "Load more (5 left)" }));
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(45));
    expect(screen.queryByRole("button", { name: /Load more/ })).toBeNull();
    const cards = screen.getAllByTestId("generation-card").map((card) => card.getAttribute("data-generation-id"));
    expect(cards).toEqual(library.map((g) => g.generation_id));
    expect(service.calls.map((c) => c.path)).toEqual(["/recent?limit=20", "/recent?limit=20&offset=20", "/recent?limit=20&offset=40"]);

    // The favourites filter is the service's: the first page of favourites, with their total.
    await user.click(screen.getByLabelText("Favourites only"));
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(5));
    expect(await screen.findByText("5 of 5 shown, favourites only")).toBeInTheDocument();
    expect(service.calls.at(-1)?.path).toBe("/recent?limit=20&favorite=true");

    // A finished job reloads everything shown so far, in pages the service allows.
    await user.click(screen.getByLabelText("Favourites only"));
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(20));
    await user.click(await screen.findByRole("button", { name: "Load more (25 left)" }));
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(40));
    const before = service.calls.length;
    act(() => useAppStore.getState().libraryChanged());
    await waitFor(() => expect(service.calls.length).toBe(before + 1));
    expect(service.calls.at(-1)?.path).toBe("/recent?limit=40");
    expect(screen.getAllByTestId("generation-card")).toHaveLength(40);
  });

  it("shows an API error as its message with a retry", async () => {
    fakeService({ "GET /recent": () => json({ error_type: "internal_error", message: "the server failed to handle this request", status_code: 500 }, 500) });
    render(<HistoryTab />);
    expect(await screen.findByRole("alert")).toHaveTextContent("the server failed to handle this request");
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });
});

/** What GET /stats answers: these totals, two device variants, these days. */
const stats = (fields: Partial<Stats["totals"]> = {}, daily: Stats["daily"] = []): Stats =>
  ({
    days: 7,
    since: "2026-01-01T00:00:00Z",
    totals: {
      generations: 12,
      queued: 0,
      running: 1,
      succeeded: 9,
      failed: 2,
      canceled: 0,
      success_rate: 0.8182,
      avg_generation_time: 3.5,
      avg_realtime_factor: 1.7,
      audio_seconds: 95,
      plays: 20,
      downloads: 4,
      favorites: 3,
      ...fields,
    },
    by_device: [
      { device: "cpu", precision: "float32", generations: 9, avg_generation_time: 3.5, avg_realtime_factor: 1.7 },
      { device: "cpu", precision: "int8", generations: 1, avg_generation_time: null, avg_realtime_factor: null },
    ],
    daily,
    storage: { files: 9, bytes: 3 * 1024 * 1024, mb: 3, disk_free_gb: 50 },
    benchmarks: [],
  }) as Stats;

describe("StatsView", () => {

  it("shows the totals and storage", () => {
    render(<StatsView stats={stats()} />);
    expect(screen.getByTestId("stat-generations")).toHaveTextContent("12");
    expect(screen.getByTestId("stat-success-rate")).toHaveTextContent("81.8%");
    expect(screen.getByTestId("stat-storage")).toHaveTextContent("3.0 MB");
    expect(screen.getByRole("table")).toHaveTextContent("cpu · float32");
    expect(screen.getByRole("table")).toHaveTextContent("1.7×");
    // A variant with no success has no figures: a dash, not 0.
    const int8 = within(screen.getByRole("table")).getByText("cpu · int8").closest("tr")!;
    expect(int8).toHaveTextContent("–");
    expect(int8).not.toHaveTextContent("0×");
  });

  it("counts canceled jobs beside the success rate, not inside it", () => {
    render(<StatsView stats={stats({ succeeded: 3, failed: 0, canceled: 2, running: 0, success_rate: 1 })} />);
    expect(screen.getByTestId("success-donut-label")).toHaveTextContent("100%");
    expect(screen.getByTestId("success-note")).toHaveTextContent("2 canceled: not part of the rate.");
    expect(screen.getByTestId("stat-success-rate").parentElement).toHaveTextContent("3 ok · 0 failed · 2 canceled");
  });
});

describe("workers", () => {
  it("names the worker that ran a track, or runs a job, and nothing while none has taken it", async () => {
    const done = generation({ generation_id: "w1", prompt: "jazz trio", worker: "gpu-a0" });
    const waiting = unfinished({ generation_id: "w2", id: 2, prompt: "techno" });
    fakeService({ "GET /recent": ({ url }) => page([done, waiting], url) });
    render(<HistoryTab />);
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(2));
    const card = (id: string) => screen.getAllByTestId("generation-card").find((c) => c.getAttribute("data-generation-id") === id)!;
    expect(card("w1")).toHaveTextContent("· cpu/float32 on gpu-a0");
    expect(within(card("w1")).getByTestId("generation-worker")).toHaveTextContent("gpu-a0");
    expect(within(card("w2")).queryByTestId("generation-worker")).toBeNull();
    cleanup();

    useAppStore.setState({ generations: { r1: unfinished({ generation_id: "r1", status: "running", worker: "gpu-b1:812" }) } });
    render(
      <ul>
        <JobCard id="r1" />
      </ul>,
    );
    expect(screen.getByTestId("job")).toHaveTextContent("0:05 · cpu · float32 on gpu-b1:812 · seed 7");
  });

  it("lists several workers in the Stats tab: status, device, jobs running, last heartbeat", async () => {
    fakeService({ "GET /stats": () => json(stats()) });
    const seconds = (n: number) => new Date(Date.now() - n * 1000).toISOString();
    useAppStore.setState({
      health: health({}, {
        workers: [
          worker({ name: "gpu-a0", host: "node-a", device: "cuda:0", precision: "bfloat16", running: ["g1", "g2"], last_heartbeat: seconds(3) }),
          worker({ name: "gpu-b1", host: "node-b", status: "loading", device: "cuda:1", precision: "float16", last_heartbeat: seconds(125) }),
        ],
      }),
    });
    render(<StatsTab />);
    const rows = within(screen.getByTestId("workers")).getAllByTestId("worker-row");
    expect(rows.map((row) => row.getAttribute("data-worker"))).toEqual(["gpu-a0", "gpu-b1"]);
    expect(rows[0]).toHaveTextContent(/gpu-a0\s*ready\s*cuda:0 · bfloat16\s*2 running\s*3 s ago/);
    expect(rows[1]).toHaveTextContent(/gpu-b1\s*loading\s*cuda:1 · float16\s*idle\s*2 min ago/);
    expect(screen.getByTestId("workers")).toHaveTextContent("Workers (2)");
    await screen.findByTestId("stat-generations");

    // One worker (the service itself, the default) is not listed.
    act(() => useAppStore.setState({ health: health({}) }));
    expect(screen.queryByTestId("workers")).toBeNull();
  });
});

describe("continuing my audio", () => {
  const intro = () => new File([new Uint8Array(4096)], "intro.wav", { type: "audio/wav" });
  const pick = (user: ReturnType<typeof userEvent.setup>, file: File) => user.upload(screen.getByLabelText(/Continue my audio/), file);

  it("shows the file and its length, keeps the track longer than it and sends the fields with the file as a form", async () => {
    vi.mocked(readAudioSeconds).mockResolvedValue(12.4);
    const user = userEvent.setup();
    const queued = unfinished({ generation_id: "up1", prompt: "more of this", duration: 13, duration_requested: 13, prompt_seconds: 12.4 });
    const service = fakeService({ ...emptyRecent, "POST /generate": () => json({ ...queued, token: "secret-up1" }, 202) });
    useAppStore.setState({ health: health({}) });
    render(<GenerateTab />);
    await user.type(screen.getByLabelText("Prompt", { selector: "textarea" }), "more of this");
    await pick(user, intro());
    const chosen = await screen.findByTestId("prompt-audio");
    expect(chosen).toHaveTextContent("intro.wav");
    await waitFor(() => expect(chosen).toHaveTextContent("12.4 s"));
    expect(screen.getByText(/the duration is the whole track, so it must be more than 12.4 s/)).toBeInTheDocument();
    // The default 10 s would not reach past the audio: the track now ends at 13 s, the least allowed.
    const duration = screen.getByLabelText("Duration in seconds");
    expect(duration).toHaveValue(13);
    expect(duration).toHaveAttribute("min", "13");
    // Variations go in the form too.
    await user.click(within(screen.getByRole("group", { name: "Variations" })).getByRole("radio", { name: "2" }));
    await user.click(screen.getByRole("button", { name: "Generate" }));

    const post = service.calls.find((c) => c.method === "POST");
    const form = post?.body as FormData;
    expect(form).toBeInstanceOf(FormData);
    expect(Object.fromEntries([...form.entries()].filter(([name]) => name !== "audio"))).toEqual({
      prompt: "more of this",
      duration: "13",
      top_k: "250",
      top_p: "0",
      temperature: "1",
      cfg_coef: "3",
      variations: "2",
    });
    expect((form.get("audio") as File).name).toBe("intro.wav");
    // The browser sets the multipart Content-Type (with its boundary): the page must not say JSON.
    const init = service.mock.mock.calls.find(([, options]) => options?.method === "POST")?.[1];
    expect(new Headers(init?.headers).get("Content-Type")).toBeNull();
    const job = await screen.findByTestId("job");
    expect(job).toHaveTextContent("Continues an uploaded file (new music from 0:12)");
    expect(tokenFor("up1")).toBe("secret-up1");
    await screen.findByTestId("latest-list");
  });

  it("explains why a track must be longer than the audio, and sends JSON again once the file is removed", async () => {
    vi.mocked(readAudioSeconds).mockResolvedValue(30.2);
    const user = userEvent.setup();
    const service = fakeService({ ...emptyRecent, "POST /generate": () => json({ ...unfinished({ generation_id: "j1" }), token: "t" }, 202) });
    render(<GenerateTab />);
    await user.type(screen.getByLabelText("Prompt", { selector: "textarea" }), "more");
    await pick(user, intro());
    await waitFor(() => expect(screen.getByLabelText("Duration in seconds")).toHaveValue(31));
    fireEvent.change(screen.getByLabelText("Duration in seconds"), { target: { value: "20" } });
    const problem = screen.getByText("The duration is the whole track, your 30.2 s included: make it more than 30.2 s.");
    expect(problem).toBeInTheDocument();
    expect(screen.getByLabelText(/Continue my audio/)).toHaveAttribute("aria-invalid", "true");
    await user.click(screen.getByRole("button", { name: "Generate" }));
    expect(service.calls.some((c) => c.method === "POST")).toBe(false);
    expect(screen.getByRole("alert")).toHaveTextContent("make it more than 30.2 s");

    await user.click(screen.getByRole("button", { name: "Remove intro.wav" }));
    expect(screen.queryByTestId("prompt-audio")).not.toBeInTheDocument();
    expect(screen.getByLabelText("Duration in seconds")).toHaveAttribute("min", String(API_SCHEMAS.GenerateRequest.duration.minimum));
    await user.click(screen.getByRole("button", { name: "Generate" }));
    const post = service.calls.find((c) => c.method === "POST");
    expect(post?.body).toEqual({ prompt: "more", duration: 20, top_k: 250, top_p: 0, temperature: 1, cfg_coef: 3, variations: 1 });
    await screen.findByTestId("latest-list");
  });

  it("says when the audio is too long for any track, and shows the service's refusal of a file", async () => {
    vi.mocked(readAudioSeconds).mockResolvedValue(150);
    const user = userEvent.setup();
    fakeService({
      ...emptyRecent,
      "POST /generate": () =>
        json({ error_type: "unsupported_audio", field: "audio", status_code: 422, message: "audio: not audio this service can read (Format not recognised); send WAV, FLAC, OGG (Vorbis or Opus) or MP3" }, 422),
    });
    render(<GenerateTab />);
    await user.type(screen.getByLabelText("Prompt", { selector: "textarea" }), "more");
    await pick(user, intro());
    expect(await screen.findByText(`Your audio is 150.0 s: it must be shorter than ${API_SCHEMAS.GenerateRequest.duration.maximum} s, the longest track.`)).toBeInTheDocument();

    vi.mocked(readAudioSeconds).mockResolvedValue(null); // a file this browser cannot read: the service decides
    await pick(user, new File(["not audio"], "notes.txt.wav", { type: "audio/wav" }));
    await waitFor(() => expect(screen.getByTestId("prompt-audio")).toHaveTextContent("length unknown"));
    await user.click(screen.getByRole("button", { name: "Generate" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("send WAV, FLAC, OGG (Vorbis or Opus) or MP3");
    await latestLoaded();
  });
});

describe("extending a track", () => {
  const services = (tracks: ReturnType<typeof generation>[], extra: Parameters<typeof fakeService>[0] = {}) =>
    fakeService({
      "GET /health": () => json(health({})),
      "GET /model/status": () => json(modelStatus()),
      "GET /recent": ({ url }) => page(tracks, url),
      ...extra,
    });
  const cardOf = (id: string) => screen.getAllByTestId("generation-card").find((card) => card.getAttribute("data-generation-id") === id)!;

  it("asks how many seconds to add, posts the continuation and follows it in the Generate tab", async () => {
    const user = userEvent.setup();
    const parent = generation({ generation_id: "p1", prompt: "lo-fi piano", duration: 5, top_k: 100, top_p: 0.9, temperature: 0.7, cfg_coef: 4.5, seed: 7 });
    const child = unfinished({ generation_id: "c1", id: 2, prompt: "lo-fi piano", duration_requested: 10, seed: null, parent_id: "p1", prompt_seconds: 5, queue_position: 1, created_at: "2026-01-02T04:00:00Z" });
    const service = services([parent], { "POST /generate": () => json({ ...child, token: "t-c1" }, 202) });
    useAppStore.setState({ tab: "history" });
    render(<MusicGenieApp />);
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(1));
    await user.click(within(cardOf("p1")).getByRole("button", { name: "Extend lo-fi piano" }));
    const form = screen.getByTestId("extend-form");
    const seconds = within(form).getByLabelText("Seconds to add");
    expect(seconds).toHaveValue(10);
    expect(seconds).toHaveAttribute("min", "1");
    expect(seconds).toHaveAttribute("max", "115");
    expect(within(form).getByTestId("extend-total")).toHaveTextContent("→ 0:15 in all");
    fireEvent.change(seconds, { target: { value: "5" } });
    expect(within(form).getByTestId("extend-total")).toHaveTextContent("→ 0:10 in all");
    await user.click(within(form).getByRole("button", { name: "Extend" }));

    const post = await waitFor(() => {
      const call = service.calls.find((c) => c.method === "POST" && c.path === "/generate");
      expect(call).toBeDefined();
      return call!;
    });
    // The whole result's length, the parent's prompt and sampling settings, no seed (a new one).
    expect(post.body).toEqual({ prompt: "lo-fi piano", duration: 10, continue_from: "p1", top_k: 100, top_p: 0.9, temperature: 0.7, cfg_coef: 4.5, variations: 1 });
    // Followed like a job started from the form: token kept, its events followed, the Generate tab open.
    expect(tokenFor("c1")).toBe("t-c1");
    expect(useAppStore.getState().myJobs[0]).toBe("c1");
    expect(FakeEventSource.instances.some((source) => source.url.endsWith("/generations/c1/events"))).toBe(true);
    expect(screen.getByRole("tab", { name: "Generate" })).toHaveAttribute("aria-selected", "true");
    const job = await waitFor(() => screen.getAllByTestId("job").find((j) => j.getAttribute("data-generation-id") === "c1")!);
    expect(job).toHaveAttribute("data-status", "queued");
    expect(within(job).getByTestId("continuation")).toHaveTextContent("Extends “lo-fi piano” (continued from 0:05)");
    expect(within(job).getByRole("button", { name: /Cancel the generation/ })).toBeEnabled();
  });

  it("keeps the whole track within the maximum, and says when a track cannot be extended", async () => {
    const user = userEvent.setup();
    const long = generation({ generation_id: "long", id: 1, prompt: "long drone", duration: 115 });
    const full = generation({ generation_id: "full", id: 2, prompt: "full-length epic", duration: 120 });
    const service = services([full, long]);
    render(<HistoryTab />);
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(2));

    await user.click(within(cardOf("long")).getByRole("button", { name: "Extend long drone" }));
    const form = within(cardOf("long")).getByTestId("extend-form");
    const seconds = within(form).getByLabelText("Seconds to add");
    expect(seconds).toHaveValue(5); // ten would pass 2:00
    expect(seconds).toHaveAttribute("max", "5");
    fireEvent.change(seconds, { target: { value: "6" } });
    await user.click(within(form).getByRole("button", { name: "Extend" }));
    expect(within(form).getByRole("alert")).toHaveTextContent("Add a whole number of seconds, 1-5 (the whole track can be at most 120 s).");
    expect(service.calls.some((c) => c.method === "POST")).toBe(false);

    await user.click(within(cardOf("full")).getByRole("button", { name: "Extend full-length epic" }));
    const note = within(cardOf("full")).getByTestId("extend-form");
    expect(note).toHaveTextContent("This track is 2:00 long: the service makes tracks of at most 2:00, so it cannot be extended.");
    expect(within(note).queryByLabelText("Seconds to add")).toBeNull();
    expect(within(note).queryByRole("button", { name: "Extend" })).toBeNull();
  });

  it("shows the service's own message when it refuses", async () => {
    const user = userEvent.setup();
    const parent = generation({ generation_id: "p1", prompt: "lo-fi piano" });
    services([parent], {
      "POST /generate": () => json({ error_type: "file_missing", message: "the audio of p1 is no longer on disk", status_code: 410 }, 410),
    });
    useAppStore.setState({ tab: "history" });
    render(<HistoryTab />);
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(1));
    await user.click(screen.getByRole("button", { name: "Extend lo-fi piano" }));
    await user.click(within(screen.getByTestId("extend-form")).getByRole("button", { name: "Extend" }));
    const alert = await within(screen.getByTestId("extend-form")).findByRole("alert");
    expect(alert).toHaveTextContent("Could not extend it");
    expect(alert).toHaveTextContent("the audio of p1 is no longer on disk");
    expect(useAppStore.getState().tab).toBe("history");
    expect(useAppStore.getState().myJobs).toEqual([]);
  });

  it("labels a continuation with the track it extends (looked up once), or another track when that is gone", async () => {
    const children = [
      generation({ generation_id: "c1", id: 3, prompt: "ambient pads, longer", duration: 40, parent_id: "p0", prompt_seconds: 30 }),
      generation({ generation_id: "c2", id: 2, prompt: "ambient pads, other ending", duration: 45, parent_id: "p0", prompt_seconds: 30 }),
      generation({ generation_id: "c3", id: 1, prompt: "orphan", duration: 10, parent_id: "gone", prompt_seconds: 5 }),
      generation({ generation_id: "plain", id: 0, prompt: "no parent" }),
    ];
    const service = services(children, {
      "GET /generations/p0": () => json(generation({ generation_id: "p0", prompt: "ambient pads", duration: 30 })),
    });
    render(<HistoryTab />);
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(4));
    await waitFor(() => expect(within(cardOf("c1")).getByTestId("continuation")).toHaveTextContent("Extends “ambient pads” (continued from 0:30)"));
    expect(within(cardOf("c2")).getByTestId("continuation")).toHaveTextContent("Extends “ambient pads” (continued from 0:30)");
    await waitFor(() => expect(service.calls.some((c) => c.path === "/generations/gone")).toBe(true));
    expect(within(cardOf("c3")).getByTestId("continuation")).toHaveTextContent("Extends another track (continued from 0:05)");
    expect(within(cardOf("plain")).queryByTestId("continuation")).toBeNull();
    expect(service.calls.filter((c) => c.path === "/generations/p0")).toHaveLength(1);
  });
});

describe("the app", () => {
  it("has four tabs that the keyboard moves between", async () => {
    fakeService({
      "GET /health": () => json(health({})),
      "GET /model/status": () => json(modelStatus({ info: null, loaded_variants: [] })),
      "GET /recent": ({ url }) => page([], url),
      "GET /most-played": ({ url }) => page([], url),
    });
    render(<MusicGenieApp />);
    const tabs = screen.getAllByRole("tab");
    expect(tabs.map((t) => t.textContent)).toEqual(["Generate", "History", "Popular", "Stats"]);
    tabs[0].focus();
    await userEvent.keyboard("{ArrowRight}");
    expect(screen.getByRole("tab", { name: "History" })).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("tab", { name: "History" })).toHaveFocus();
    await userEvent.keyboard("{End}");
    expect(screen.getByRole("tab", { name: "Stats" })).toHaveAttribute("aria-selected", "true");
    expect(await screen.findByTestId("noise-warning")).toBeInTheDocument();
  });
});
