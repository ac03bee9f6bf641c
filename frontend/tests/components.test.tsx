import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

import { MusicGenieApp } from "@/components/App";
import { JobCard } from "@/components/audio/JobCard";
import { GenerateTab } from "@/components/tabs/GenerateTab";
import { HistoryTab } from "@/components/tabs/HistoryTab";
import { StatsView } from "@/components/tabs/StatsTab";
import { ErrorMessage } from "@/components/ui/ErrorMessage";
import { ModelBadge, StatusBanner } from "@/components/ui/StatusBanner";
import { ApiError } from "@/lib/api";
import { useAppStore } from "@/lib/store";
import type { Health, Stats } from "@/types";

import { FakeEventSource, fakeService, generation, json, resetStore } from "./helpers";

function health(model: Record<string, unknown>, fields: Partial<Health> = {}): Health {
  return {
    status: "ok",
    version: "0.1.0",
    environment: "test",
    uptime_s: 1,
    database: { ok: true },
    model: { status: "ready", model: "tiny-random", device: "cpu", precision: "float32", backend: "reference", error: null, ...model },
    queue: { depth: 0, capacity: 16, running: null, accepting: true },
    system: {},
    gpu: null,
    ...fields,
  };
}

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
    expect(screen.getByRole("alert")).toHaveTextContent("too many requests; retry in 3 s");
    expect(screen.getByRole("alert")).toHaveTextContent("You can try again in 3 s.");
    expect(screen.getByRole("button", { name: "Retry in 3 s" })).toBeDisabled();
    act(() => vi.advanceTimersByTime(3100));
    const retry = screen.getByRole("button", { name: "Retry" });
    expect(retry).toBeEnabled();
    fireEvent.click(retry);
    expect(onRetry).toHaveBeenCalled();
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

  it("does not mark a real model", () => {
    useAppStore.setState({ health: health({ model: "facebook/musicgen-small" }) });
    render(<ModelBadge />);
    expect(screen.getByText("facebook/musicgen-small")).toBeInTheDocument();
    expect(screen.queryByTestId("noise-warning")).toBeNull();
  });
});

describe("GenerateTab", () => {
  it("queues a generation with the chosen settings and follows it", async () => {
    const user = userEvent.setup();
    const queued = generation({ generation_id: "new1", status: "queued", prompt: "calm acoustic guitar fingerpicking, campfire mood", seed: 42 });
    const service = fakeService({
      "POST /generate": () => json(queued, 202),
      "GET /recent": () => json({ items: [queued], count: 1 }),
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
    expect(post?.body).toEqual({ prompt: "calm acoustic guitar fingerpicking, campfire mood", duration: 5, top_k: 250, top_p: 0, temperature: 1, cfg_coef: 3, seed: 42 });
    const job = await screen.findByTestId("job");
    expect(job).toHaveAttribute("data-status", "queued");
    await waitFor(() => expect(job).toHaveTextContent("next in line"));

    const events = FakeEventSource.instances.find((source) => source.url.endsWith("/generations/new1/events"));
    expect(events).toBeDefined();
    act(() => events!.emit("status", { ...queued, status: "running" }));
    act(() => events!.emit("progress", { generation_id: "new1", step: 50, total_steps: 100, fraction: 0.5, elapsed_s: 1, eta_s: 1.2 }));
    expect(within(job).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "50");
    expect(job).toHaveTextContent("2 s left");
    act(() => events!.emit("status", { ...queued, status: "succeeded", generation_time: 2.4 }));
    expect(within(job).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
    expect(useAppStore.getState().currentId).toBe("new1");
    expect(events!.readyState).toBe(FakeEventSource.CLOSED);
  });

  it("refuses an empty prompt with a message", async () => {
    const service = fakeService({});
    render(<GenerateTab />);
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Describe the music you want");
    expect(service.calls.filter((c) => c.method === "POST")).toHaveLength(0);
  });

  it("says when to try again after a rate limit", async () => {
    fakeService({
      "POST /generate": () =>
        json({ error_type: "rate_limited", message: "too many requests to POST /generate; retry in 42 s", status_code: 429 }, 429, { "Retry-After": "42" }),
    });
    useAppStore.setState({ draft: { ...useAppStore.getState().draft, prompt: "drums" } });
    render(<GenerateTab />);
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("retry in 42 s");
    expect(screen.getByRole("button", { name: "Try again in 42 s" })).toBeDisabled();
  });

  it("offers only the server's devices and precisions", () => {
    useAppStore.setState({
      health: health({}),
      modelStatus: {
        status: "ready",
        model: "tiny-random",
        backend: "reference",
        device: "cpu",
        precision: "float32",
        reloading: false,
        error_type: null,
        error: null,
        loaded_at: 1,
        info: { random_weights: true },
        loaded_variants: [{ model: "tiny-random", backend: "reference", device: "cpu", precision: "float32" }],
      },
    });
    render(<GenerateTab />);
    const devices = within(screen.getByLabelText("Device")).getAllByRole("option").map((o) => o.textContent);
    expect(devices).toEqual(["Server default (cpu)", "cpu"]);
    const precisions = within(screen.getByLabelText("Precision")).getAllByRole("option").map((o) => o.textContent);
    expect(precisions).toEqual(["Server default (float32)", "float32"]);
  });
});

describe("JobCard", () => {
  it("cancels a running job", async () => {
    const running = generation({ generation_id: "r1", status: "running" });
    const service = fakeService({ "DELETE /generations/r1": () => json({ ...running, status: "canceled" }) });
    useAppStore.setState({ generations: { r1: running }, myJobs: ["r1"] });
    render(
      <ul>
        <JobCard id="r1" />
      </ul>,
    );
    await userEvent.click(screen.getByRole("button", { name: /Cancel the generation/ }));
    await waitFor(() => expect(screen.getByTestId("job")).toHaveAttribute("data-status", "canceled"));
    expect(service.calls.map((c) => `${c.method} ${c.path}`)).toContain("DELETE /generations/r1");
  });

  it("shows why a job failed", () => {
    useAppStore.setState({ generations: { f1: generation({ generation_id: "f1", status: "failed", error_type: "model_unavailable", error_message: "the model could not be loaded" }) } });
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
    generation({ generation_id: "b", prompt: "techno", status: "running", progress: { step: 10, total_steps: 40, fraction: 0.25, eta_s: 3 } }),
  ];

  it("lists, searches, filters favourites, and deletes", async () => {
    const user = userEvent.setup();
    const deleted = new Set<string>();
    const live = () => items.filter((i) => !deleted.has(i.generation_id));
    const service = fakeService({
      "GET /recent": () => json({ items: live(), count: live().length }),
      "GET /search": ({ url }) => {
        const found = live().filter((i) => i.prompt.includes(url.searchParams.get("q") ?? ""));
        return json({ items: found, count: found.length });
      },
      "DELETE /generations/a": () => {
        deleted.add("a");
        return new Response(null, { status: 204 });
      },
    });
    render(<HistoryTab />);
    expect(await screen.findAllByTestId("generation-card")).toHaveLength(2);
    expect(screen.getByText("techno").closest("li")).toHaveTextContent("Generating");
    expect(within(screen.getByText("techno").closest("li")!).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "25");
    expect(FakeEventSource.instances.map((s) => s.url)).toContain("/generations/b/events");

    await user.click(screen.getByLabelText("Favourites only"));
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(1));
    await user.click(screen.getByLabelText("Favourites only"));

    await user.type(screen.getByLabelText("Search prompts"), "jazz");
    await waitFor(() => expect(service.calls.some((c) => c.path.startsWith("/search?q=jazz"))).toBe(true));
    await waitFor(() => expect(screen.getAllByTestId("generation-card")).toHaveLength(1));

    await user.click(screen.getByRole("button", { name: "Delete jazz trio" }));
    await waitFor(() => expect(service.calls.some((c) => c.method === "DELETE")).toBe(true));
    await waitFor(() => expect(useAppStore.getState().generations.a).toBeUndefined());
    expect(await screen.findByText("No generation's prompt contains “jazz”.")).toBeInTheDocument();
  });

  it("shows an API error as its message with a retry", async () => {
    fakeService({ "GET /recent": () => json({ error_type: "internal_error", message: "the server failed to handle this request", status_code: 500 }, 500) });
    render(<HistoryTab />);
    expect(await screen.findByRole("alert")).toHaveTextContent("the server failed to handle this request");
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });
});

describe("StatsView", () => {
  it("shows the totals and storage", () => {
    const stats: Stats = {
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
      },
      by_device: [{ device: "cpu", precision: "float32", generations: 9, avg_generation_time: 3.5, avg_realtime_factor: 1.7 }],
      daily: [{ date: "2026-01-07", total_generations: 12, successful_generations: 9, failed_generations: 2, canceled_generations: 0, avg_generation_time: 3.5 }],
      storage: { files: 9, bytes: 3 * 1024 * 1024, mb: 3, disk_free_gb: 50 },
    } as Stats;
    render(<StatsView stats={stats} />);
    expect(screen.getByTestId("stat-generations")).toHaveTextContent("12");
    expect(screen.getByTestId("stat-success-rate")).toHaveTextContent("81.8%");
    expect(screen.getByTestId("stat-storage")).toHaveTextContent("3.0 MB");
    expect(screen.getByRole("table")).toHaveTextContent("cpu · float32");
    expect(screen.getByRole("table")).toHaveTextContent("1.7×");
  });
});

describe("the app", () => {
  it("has four tabs that the keyboard moves between", async () => {
    fakeService({
      "GET /health": () => json(health({})),
      "GET /model/status": () => json({ status: "ready", model: "tiny-random", backend: "reference", device: "cpu", precision: "float32", reloading: false, error_type: null, error: null, loaded_at: 1, info: null, loaded_variants: [] }),
      "GET /recent": () => json({ items: [], count: 0 }),
      "GET /most-played": () => json({ items: [], count: 0 }),
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
