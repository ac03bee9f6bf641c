#!/usr/bin/env node
// End-to-end test of the web UI in headless Chromium (Debian's, driven by playwright-core) against a
// running service with the tiny-random model:
//   BASE_URL=http://127.0.0.1:8000 node e2e/run.mjs
// Offers the service's devices and precisions; generates a 5 s track, follows its phases to 100% (never
// 100% before it succeeded) and keeps its token; draws its waveform from the service's peaks, plays it
// (its row says so), favourites it, downloads it (the details panel stays compact), finds it by search
// and in History after a reload (favourites filtered by the service); a generation of another browser
// offers no delete, and a refused delete says why; sees it in Popular and counted in Stats; extends it by
// 5 s from the player (a 10 s track that says it extends the first, in its card and the player); continues a
// WAV of its own made here (its length shown, sent as a form, a 5 s track that says so); generates 2
// variations (one token for both, each followed to the end, then side by side with its own seed, play and
// download; stacked at phone width; labelled "Variation i of 2" in History); listens to a
// running job's stream (it plays while the job runs); queues a job behind running ones (the service's
// `max_batch` places filled; its place in line and the running one's phase shown), cancels them and deletes
// one; at phone width (390 px) a long prompt wraps in History instead of being cut to a few letters.
// Screenshots of every tab go to test-artifacts/ (ARTIFACTS_DIR). A missing browser is a failure.
import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BASE_URL = (process.env.BASE_URL ?? "http://127.0.0.1:8000").replace(/\/+$/, "");
const ARTIFACTS = path.resolve(process.env.ARTIFACTS_DIR ?? path.join(HERE, "..", "test-artifacts"));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TIMEOUT = 60_000;

const results = [];
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`  ✓ ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false, error });
    console.log(`  ✗ ${name}\n    ${String(error?.stack ?? error).split("\n").slice(0, 6).join("\n    ")}`);
    throw error;
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

/** Reads `measure` until its `ok` holds (layout animations settle) or `ms` pass; returns the last reading. */
async function settled(measure, ms = 3000) {
  let reading = await measure();
  for (const end = Date.now() + ms; !reading.ok && Date.now() < end; reading = await measure()) await new Promise((done) => setTimeout(done, 100));
  return reading;
}

if (!existsSync(CHROMIUM)) {
  console.error(`e2e: no Chromium at ${CHROMIUM}: install it (make frontend-deps, or apt-get install -y chromium) or set CHROMIUM_PATH`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
mkdirSync(ARTIFACTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
  ],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true, colorScheme: "light" });
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT);
const consoleErrors = [];
page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
page.on("pageerror", (error) => consoleErrors.push(String(error)));
page.on("dialog", (dialog) => dialog.accept());
const audioResponses = [];
const peaksResponses = [];
const failedRequests = [];
page.on("requestfailed", (request) => failedRequests.push({ url: request.url(), error: request.failure()?.errorText }));
const listRequests = [];
page.on("response", (response) => {
  if (/\/generations\/[^/]+\/audio/.test(response.url())) {
    audioResponses.push({ status: response.status(), range: response.request().headers().range ?? null, type: response.request().resourceType() });
  }
  if (/\/generations\/[^/]+\/peaks/.test(response.url())) peaksResponses.push({ url: response.url(), status: response.status() });
  if (/\/(recent|search)\?/.test(response.url())) listRequests.push(response.url());
});

// The viewport (the player is docked at its bottom; a full-page shot would paint it mid-page).
const shot = (name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
const openTab = async (name) => {
  await page.getByRole("tab", { name }).click();
  await page.getByRole("tabpanel").waitFor();
};
const prompt = `e2e lo-fi piano ${Date.now().toString(36)}`;
// A generation "of another browser" (made through the API: this page never sees its token), with a
// prompt long enough to wrap on a phone.
const longPrompt = `another browser's long prompt: ${"warm analog synth pads over a slow breakbeat, tape hiss, distant vocal chops, ".repeat(4).trim()}`;
const TOKENS_KEY = "music-genie-tokens";
/** A `seconds`-long mono 16-bit WAV of a gliding tone: a file of the user's own to continue. */
function toneWav(seconds, rate = 32_000) {
  const frames = Math.round(seconds * rate);
  const wav = Buffer.alloc(44 + frames * 2);
  wav.write("RIFF", 0);
  wav.writeUInt32LE(36 + frames * 2, 4);
  wav.write("WAVEfmt ", 8);
  wav.writeUInt32LE(16, 16); // PCM, mono, `rate` Hz, 16-bit
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write("data", 36);
  wav.writeUInt32LE(frames * 2, 40);
  for (let i = 0; i < frames; i++) {
    const t = i / rate;
    wav.writeInt16LE(Math.round(9000 * Math.sin(2 * Math.PI * 220 * t * (1 + t))), 44 + 2 * i);
  }
  return wav;
}
const storedTokens = () => page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? "{}").state?.tokens ?? {}, TOKENS_KEY);
let generationId = null;
let exitCode = 0;

console.log(`e2e against ${BASE_URL} (screenshots in ${ARTIFACTS})`);
try {
  await step("the UI loads from the service and the model becomes ready", async () => {
    const response = await page.goto(`${BASE_URL}/`);
    assert(response?.ok(), `GET / answered ${response?.status()}`);
    await page.getByRole("heading", { name: "Music Genie" }).waitFor();
    await page.waitForFunction(() => !document.querySelector("[data-testid=status-banner]") && document.querySelector("[data-testid=noise-warning]"), null, { timeout: 120_000 });
  });

  await step("tiny-random is marked as noise", async () => {
    const text = await page.getByTestId("noise-warning").innerText();
    assert(/noise/i.test(text), `noise warning says "${text}"`);
  });

  await step("the form offers exactly the devices and precisions the service lists", async () => {
    const status = await (await page.request.get(`${BASE_URL}/model/status`)).json();
    assert(Array.isArray(status.devices) && status.devices.some((d) => d.device === "cpu" && d.precisions.includes("float32")), `devices: ${JSON.stringify(status.devices)}`);
    const values = (label) => page.getByLabel(label, { exact: true }).locator("option").evaluateAll((options) => options.map((o) => o.value));
    const devices = await values("Device");
    assert(JSON.stringify(devices) === JSON.stringify(["", ...status.devices.map((d) => d.device)]), `device options ${devices}`);
    await page.getByLabel("Device", { exact: true }).selectOption("cpu");
    const precisions = await values("Precision");
    const cpu = status.devices.find((d) => d.device === "cpu");
    assert(JSON.stringify(precisions) === JSON.stringify(["", ...cpu.precisions]), `precision options ${precisions}`);
    await page.getByLabel("Device", { exact: true }).selectOption("");
  });

  await step("an empty prompt is refused with a message, not a blank page", async () => {
    await page.getByRole("button", { name: "Generate", exact: true }).click();
    await page.getByRole("alert").filter({ hasText: "prompt" }).waitFor();
  });

  await step("generate a 5 s track and see the progress reach 100%", async () => {
    await page.getByLabel("Prompt", { exact: true }).fill(prompt);
    await page.getByLabel("Duration in seconds").fill("5");
    await shot("generate");
    await page.getByRole("button", { name: "Generate", exact: true }).click();
    const job = page.locator("[data-testid=job]").filter({ hasText: prompt });
    await job.waitFor();
    generationId = await job.getAttribute("data-generation-id");
    assert(generationId, "the job card names its generation");
    const seen = new Set();
    const phases = new Set();
    const early = [];
    const deadline = Date.now() + 90_000;
    for (;;) {
      // One snapshot of the card: read one at a time, the status could be read before an update
      // and the bar after it, which looks like 100% on a running job.
      const { status, now, phase } = await job.evaluate((card) => ({
        status: card.getAttribute("data-status"),
        now: card.querySelector("[role=progressbar]")?.getAttribute("aria-valuenow") ?? null,
        phase: card.querySelector("[data-testid=progress-phase]")?.textContent ?? null,
      }));
      if (phase) phases.add(phase.replace(/step \d+\/(\d+)/, "step n/$1"));
      if (now !== null) seen.add(Number(now));
      if (now === "100" && status !== "succeeded") early.push(status);
      if (status === "succeeded" || status === "failed" || status === "canceled") {
        assert(status === "succeeded", `the job ended ${status}: ${await job.innerText()}`);
        break;
      }
      if (status === "running" && seen.size === 2) await shot("generate-progress");
      assert(Date.now() < deadline, "the job did not finish in 90 s");
      await page.waitForTimeout(50);
    }
    assert(early.length === 0, `the bar said 100% while the record was ${early.join(", ")}`);
    const final = await job.getByRole("progressbar").getAttribute("aria-valuenow");
    assert(final === "100", `the final progress is ${final}`);
    assert((await job.getByTestId("progress-percent").innerText()) === "100%", "the bar says 100%");
    assert(/^done in \d+\.\d s · 0:0[45] of audio$/.test(await job.getByTestId("progress-detail").innerText()), "the bar says how long it took");
    console.log(`    progress values seen: ${[...seen].sort((a, b) => a - b).join(", ")}; phases: ${[...phases].join(" | ")}`);
    const tokens = await storedTokens();
    assert(typeof tokens[generationId] === "string" && tokens[generationId].length > 10, `the token is kept in localStorage: ${JSON.stringify(Object.keys(tokens))}`);
  });

  await step("the result opens in the player, with its waveform", async () => {
    const player = page.getByTestId("player");
    await player.waitFor();
    assert((await player.getAttribute("data-generation-id")) === generationId, "the player holds the new track");
    assert((await page.getByTestId("player-prompt").innerText()) === prompt, "the player shows the prompt");
    await page.waitForFunction(() => !!document.querySelector("[data-testid=waveform]")?.shadowRoot?.querySelector("canvas") || !!document.querySelector("[data-testid=waveform] div")?.shadowRoot, null, { timeout: 30_000 });
    await page.getByText("Loading waveform…").waitFor({ state: "detached", timeout: 30_000 });
    const peaks = peaksResponses.find((r) => r.url.includes(generationId));
    assert(peaks?.status === 200, `the waveform came from GET /generations/{id}/peaks: ${JSON.stringify(peaksResponses)}`);
    // Only the media element asks for the audio (in ranges); the page itself never downloads it.
    assert(!audioResponses.some((r) => r.type === "fetch" || r.type === "xhr"), `the page fetched the file: ${JSON.stringify(audioResponses)} ${JSON.stringify(peaksResponses)} ${JSON.stringify(failedRequests)}`);
  });

  await step("play it: the playhead moves and the play is counted after real listening", async () => {
    const trackPlay = page.waitForResponse((r) => r.url().endsWith("/track-play") && r.request().method() === "POST", { timeout: 30_000 });
    await page.getByTestId("player-toggle").click();
    await page.waitForFunction(() => (document.querySelector("audio[data-testid=player-audio]")?.currentTime ?? 0) > 1, null, { timeout: 20_000 });
    await shot("player");
    const response = await trackPlay;
    assert(response.ok(), `POST /track-play answered ${response.status()}`);
    const body = await response.json();
    assert(body.play_count >= 1, `play_count is ${body.play_count}`);
    const request = JSON.parse(response.request().postData() ?? "{}");
    assert(request.play_duration >= 2.5, `counted after ${request.play_duration} s of a 5 s track`);
    // Its row in the list says it plays, in words and to assistive technology.
    const row = page.locator(`[data-testid=job][data-generation-id="${generationId}"]`);
    assert((await row.getAttribute("aria-current")) === "true", "the playing track's row is aria-current");
    await row.getByTestId("now-playing").filter({ hasText: "Now playing" }).waitFor({ timeout: 5_000 }).catch(async () => {
      // A 5 s track may have ended already: then it is the player's, paused.
      await row.getByTestId("now-playing").filter({ hasText: "In the player" }).waitFor();
    });
  });

  await step("seek on the waveform; the audio streams through HTTP Range", async () => {
    const audio = page.locator("audio[data-testid=player-audio]");
    await page.getByTestId("waveform").focus();
    await page.keyboard.press("Home");
    await page.waitForFunction(() => (document.querySelector("audio[data-testid=player-audio]")?.currentTime ?? 9) < 1.5);
    const box = await page.getByTestId("waveform").boundingBox();
    await page.mouse.click(box.x + box.width * 0.6, box.y + box.height / 2);
    await page.waitForFunction(() => (document.querySelector("audio[data-testid=player-audio]")?.currentTime ?? 0) >= 2.5);
    await audio.evaluate((el) => el.pause());
    assert(audioResponses.some((r) => r.status === 206 || r.range), `audio responses: ${JSON.stringify(audioResponses)}`);
  });

  await step("favourite it from the player", async () => {
    const favorite = page.getByTestId("player").getByTestId("favorite-button");
    assert((await favorite.getAttribute("aria-pressed")) === "false", "not a favourite yet");
    await favorite.click();
    await page.waitForFunction(() => document.querySelector("[data-testid=player] [data-testid=favorite-button]")?.getAttribute("aria-pressed") === "true");
  });

  await step("download it as mp3 (and see the parameters)", async () => {
    await page.getByRole("button", { name: "Details" }).click();
    await page.getByTestId("player-details").waitFor();
    await page.getByLabel("Download format").selectOption("mp3");
    const downloading = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download" }).click();
    const download = await downloading;
    const file = path.join(ARTIFACTS, download.suggestedFilename());
    await download.saveAs(file);
    const size = statSync(file).size;
    assert(download.suggestedFilename().endsWith(".mp3"), `file name ${download.suggestedFilename()}`);
    assert(size > 1000, `the mp3 has ${size} bytes`);
    console.log(`    saved ${download.suggestedFilename()} (${size} bytes)`);
    // The details stay compact: a scrolling panel, the player well under half the screen.
    const viewport = page.viewportSize();
    const panel = await page.getByTestId("player-details-panel").boundingBox();
    const dock = await page.getByTestId("player").boundingBox();
    assert(panel.height <= viewport.height * 0.26, `the details panel is ${panel.height}px of ${viewport.height}px`);
    assert(dock.height < viewport.height * 0.5, `the player with its details is ${dock.height}px of ${viewport.height}px`);
    await shot("player-details");
    await page.getByRole("button", { name: "Hide details" }).click();
  });

  await step("after a reload, History lists it (deletable: the token survived), search finds it, the favourites filter keeps it", async () => {
    await openTab("History");
    await page.reload();
    await page.getByRole("tab", { name: "History", selected: true }).waitFor();
    const card = page.locator(`[data-testid=generation-card][data-generation-id="${generationId}"]`);
    await card.waitFor();
    await card.getByRole("button", { name: `Delete ${prompt}` }).waitFor();
    const summary = await page.getByTestId("history-summary").innerText();
    assert(/^\d+ of \d+ shown$/.test(summary), `History says "${summary}"`);
    const word = prompt.split(" ").pop();
    await page.getByLabel("Search prompts").fill(word);
    await page.getByTestId("history-summary").filter({ hasText: `1 of 1 shown matching “${word}”` }).waitFor();
    await page.waitForFunction((id) => {
      const cards = [...document.querySelectorAll("[data-testid=generation-card]")];
      return cards.length === 1 && cards[0].getAttribute("data-generation-id") === id;
    }, generationId);
    await page.getByLabel("Favourites only").check();
    await page.getByTestId("history-summary").filter({ hasText: `1 of 1 shown matching “${word}”, favourites only` }).waitFor();
    await card.waitFor();
    assert(listRequests.some((url) => /\/search\?.*favorite=true/.test(url)), `the service filtered favourites: ${listRequests.slice(-3)}`);
    assert((await card.getByTestId("favorite-button").getAttribute("aria-pressed")) === "true", "starred in History");
    await shot("history");
    await page.getByLabel("Favourites only").uncheck();
    await page.getByLabel("Search prompts").fill("");
  });

  await step("a generation of another browser offers no delete; a refused delete says why", async () => {
    const created = await page.request.post(`${BASE_URL}/generate`, { data: { prompt: longPrompt, duration: 5 } });
    assert(created.status() === 202, `POST /generate answered ${created.status()}`);
    const other = await created.json();
    assert(other.token, "the creator gets a token");
    await page.reload();
    const card = page.locator(`[data-testid=generation-card][data-generation-id="${other.generation_id}"]`);
    await card.waitFor();
    assert((await card.getByRole("button", { name: /^(Cancel|Delete)/ }).count()) === 0, "no cancel or delete without the token");
    await page.waitForFunction((id) => document.querySelector(`[data-testid=generation-card][data-generation-id="${id}"] [data-status]`)?.getAttribute("data-status") === "succeeded", other.generation_id, { timeout: 60_000 });
    // A token that is not this generation's (a stale one): the service answers 403, the page says why.
    await page.evaluate(([key, id]) => {
      const stored = JSON.parse(localStorage.getItem(key) ?? '{"state":{"tokens":{}},"version":1}');
      stored.state.tokens[id] = "not-the-token";
      localStorage.setItem(key, JSON.stringify(stored));
    }, [TOKENS_KEY, other.generation_id]);
    await page.reload();
    await card.getByRole("button", { name: /^Delete/ }).click();
    const alert = card.getByRole("alert");
    await alert.waitFor();
    const text = await alert.innerText();
    assert(/refused to delete/.test(text) && /Only the browser that created a generation/.test(text), `the refusal reads "${text}"`);
    await card.waitFor(); // still listed, the page still works
    await shot("history-delete-refused");
    const answer = await page.request.get(`${BASE_URL}/generations/${other.generation_id}`);
    assert(answer.status() === 200, `the generation is still there: ${answer.status()}`);
  });

  await step("Popular shows it with its play", async () => {
    await openTab("Popular");
    const card = page.locator(`[data-testid=popular-list] [data-generation-id="${generationId}"]`);
    await card.waitFor();
    const plays = await card.getByTestId("play-count").innerText();
    assert(/[1-9]\d* play/.test(plays), `play count reads "${plays}"`);
    await shot("popular");
  });

  await step("Stats count it", async () => {
    await openTab("Stats");
    await page.getByTestId("stat-generations").waitFor();
    const number = async (id) => Number((await page.getByTestId(id).innerText()).replace(/[^\d.]/g, ""));
    assert((await number("stat-generations")) >= 1, "generations >= 1");
    assert((await number("stat-plays")) >= 1, "plays >= 1");
    assert((await number("stat-downloads")) >= 1, "downloads >= 1");
    assert((await number("stat-favorites")) >= 1, "favourites >= 1");
    await page.locator(".recharts-surface").first().waitFor();
    await page.waitForTimeout(600);
    await shot("stats");
  });

  await step("extend it by 5 s from the player: a 10 s continuation that says it extends the first track", async () => {
    await openTab("History");
    const card = page.locator(`[data-testid=generation-card][data-generation-id="${generationId}"]`);
    await card.getByRole("button", { name: `Play ${prompt}` }).click();
    const player = page.getByTestId("player");
    await page.waitForFunction((id) => document.querySelector("[data-testid=player]")?.getAttribute("data-generation-id") === id, generationId);
    await page.locator("audio[data-testid=player-audio]").evaluate((el) => el.pause());
    await player.getByRole("button", { name: `Extend ${prompt}` }).click();
    const form = player.getByTestId("extend-form");
    const seconds = form.getByLabel("Seconds to add");
    assert((await seconds.inputValue()) === "10", `the form offers ${await seconds.inputValue()} s`);
    const parent = await (await page.request.get(`${BASE_URL}/generations/${generationId}`)).json();
    assert(Number(await seconds.getAttribute("max")) === 120 - Math.round(parent.duration), `at most ${await seconds.getAttribute("max")} s more to a ${parent.duration} s track`);
    await seconds.fill("5");
    await form.getByTestId("extend-total").filter({ hasText: "→ 0:10 in all" }).waitFor();
    const posted = page.waitForRequest((r) => r.url().endsWith("/generate") && r.method() === "POST");
    await form.getByRole("button", { name: "Extend", exact: true }).click();
    const body = JSON.parse((await posted).postData() ?? "{}");
    assert(body.continue_from === generationId && body.duration === 10 && body.prompt === prompt && !("seed" in body), `POST /generate ${JSON.stringify(body)}`);
    // The Generate tab shows the new job's progress, like one started from the form.
    await page.getByRole("tab", { name: "Generate", selected: true }).waitFor();
    const job = page.locator("[data-testid=job]").filter({ has: page.getByTestId("continuation") }).first();
    await job.waitFor();
    const id = await job.getAttribute("data-generation-id");
    assert(id && id !== generationId, `the continuation is a new generation: ${id}`);
    await page.waitForFunction((gid) => document.querySelector(`[data-testid=job][data-generation-id="${gid}"]`)?.getAttribute("data-status") === "succeeded", id, { timeout: 90_000 });
    const label = `Extends “${prompt}” (continued from 0:05)`;
    const jobLabel = await job.getByTestId("continuation").innerText();
    assert(jobLabel.includes(label), `the job says "${jobLabel}"`);
    assert(typeof (await storedTokens())[id] === "string", "the continuation's token is kept");
    const record = await (await page.request.get(`${BASE_URL}/generations/${id}`)).json();
    assert(record.status === "succeeded" && Math.abs(record.duration - 10) < 0.25, `the continuation is ${record.duration} s (${record.status})`);
    assert(record.parent_id === generationId && Math.abs(record.prompt_seconds - parent.duration) < 0.01, `parent ${record.parent_id}, from ${record.prompt_seconds} s`);
    console.log(`    ${parent.duration} s + 5 s: a ${record.duration} s track in ${record.windows} window(s)`);
    // It opens in the player, whose details say what it extends.
    await page.waitForFunction((gid) => document.querySelector("[data-testid=player]")?.getAttribute("data-generation-id") === gid, id);
    await page.getByText("Loading waveform…").waitFor({ state: "detached", timeout: 30_000 });
    await player.getByRole("button", { name: "Details" }).click();
    const row = player.getByTestId("player-details").locator("div").filter({ hasText: /^Extends/ });
    const rowText = await row.innerText();
    assert(rowText.includes(`“${prompt}”, continued from 0:05`), `the player's details say "${rowText}"`);
    assert(/0:10/.test(await job.getByTestId("progress-detail").innerText()), "the job says 0:10 of audio");
    await page.waitForTimeout(400); // the list's and the details' animations
    await shot("extend");
    await player.getByRole("button", { name: "Hide details" }).click();
    // History lists it with the same label.
    await openTab("History");
    const row2 = page.locator(`[data-testid=generation-card][data-generation-id="${id}"]`);
    await row2.getByTestId("continuation").filter({ hasText: label }).waitFor();
  });

  await step("continue my own audio: a 1.5 s WAV, its length shown, sent as a form, a 5 s track that starts with it", async () => {
    await openTab("Generate");
    const mine = `${prompt} from my file`;
    await page.getByLabel("Prompt", { exact: true }).fill(mine);
    await page.getByLabel("Duration in seconds").fill("5");
    await page.getByLabel(/Continue my audio/).setInputFiles({ name: "my-intro.wav", mimeType: "audio/wav", buffer: toneWav(1.5) });
    const chosen = page.getByTestId("prompt-audio");
    await chosen.filter({ hasText: "my-intro.wav" }).filter({ hasText: "1.5 s" }).waitFor(); // read by the browser
    await shot("generate-upload");
    const posted = page.waitForRequest((r) => r.url().endsWith("/generate") && r.method() === "POST");
    await page.getByRole("button", { name: "Generate", exact: true }).click();
    const type = (await posted).headers()["content-type"] ?? "";
    assert(type.startsWith("multipart/form-data; boundary="), `POST /generate sent ${type}`);
    const job = page.locator("[data-testid=job]").filter({ hasText: mine });
    await job.waitFor();
    const id = await job.getAttribute("data-generation-id");
    await page.waitForFunction((gid) => document.querySelector(`[data-testid=job][data-generation-id="${gid}"]`)?.getAttribute("data-status") === "succeeded", id, { timeout: 90_000 });
    const note = await job.getByTestId("continuation").innerText();
    assert(note.includes("Continues an uploaded file"), `the job says "${note}"`);
    assert(typeof (await storedTokens())[id] === "string", "the job's token is kept");
    const record = await (await page.request.get(`${BASE_URL}/generations/${id}`)).json();
    assert(record.status === "succeeded" && Math.abs(record.duration - 5) < 0.25, `a ${record.duration} s track (${record.status})`);
    assert(record.parent_id === null && Math.abs(record.prompt_seconds - 1.5) < 0.01, `parent ${record.parent_id}, from ${record.prompt_seconds} s`);
    // The file stays chosen until removed: the next generations are plain ones.
    await page.getByRole("button", { name: "Remove my-intro.wav" }).click();
    await chosen.waitFor({ state: "detached" });
  });

  await step("generate 2 variations: each followed to the end, then side by side with its own player, seed and download", async () => {
    await openTab("Generate");
    const twice = `${prompt} twice`;
    await page.getByLabel("Prompt", { exact: true }).fill(twice);
    await page.getByLabel("Duration in seconds").fill("5");
    // The form offers 1 to the service's own maximum (from its OpenAPI document).
    const schema = await (await page.request.get(`${BASE_URL}/schema/openapi.json`)).json();
    const most = schema.components.schemas.GenerateRequest.properties.variations.maximum;
    const group = page.getByRole("group", { name: "Variations" });
    const offered = await group.getByRole("radio").evaluateAll((radios) => radios.map((radio) => Number(radio.value)));
    assert(JSON.stringify(offered) === JSON.stringify(Array.from({ length: most }, (_, i) => i + 1)), `offered ${offered} for a maximum of ${most}`);
    await group.getByText("2", { exact: true }).click();
    assert(await group.getByRole("radio", { name: "2" }).isChecked(), "2 variations chosen");
    const answered = page.waitForResponse((r) => r.url().endsWith("/generate") && r.request().method() === "POST");
    await page.getByRole("button", { name: "Generate", exact: true }).click();
    const response = await answered;
    const sent = JSON.parse(response.request().postData() ?? "{}");
    assert(sent.variations === 2 && sent.prompt === twice, `POST /generate ${JSON.stringify(sent)}`);
    const created = await response.json();
    assert(Array.isArray(created.batch) && created.batch.length === 2 && created.batch_id, `the answer's batch: ${JSON.stringify(created.batch?.map((r) => r.generation_id))}`);
    const ids = created.batch.map((record) => record.generation_id);
    const view = page.getByTestId("batch-view");
    await view.waitFor();
    // Brought into view: the variations open below the form, under the fold of a laptop's screen,
    // and stop above the player docked at the bottom.
    const seen = await settled(async () => {
      const box = await view.boundingBox();
      const docked = (await page.locator("[data-testid=player]").count()) > 0;
      const bottom = docked ? (await page.locator("[data-testid=player]").boundingBox()).y : page.viewportSize().height;
      return { box, bottom, ok: box.y >= 0 && box.y + 150 <= bottom };
    });
    assert(seen.ok, `the variations sit at ${JSON.stringify(seen.box)} where the visible page ends at ${seen.bottom}px`);
    const card = (i) => view.locator(`[data-testid=variation][data-generation-id="${ids[i]}"]`);
    // Both are followed, each with its own bar, until both succeed.
    const statuses = new Set();
    const deadline = Date.now() + 120_000;
    for (;;) {
      const now = await Promise.all(ids.map((_, i) => card(i).getAttribute("data-status")));
      now.forEach((status, i) => statuses.add(`${i}:${status}`));
      if (now.every((status) => ["succeeded", "failed", "canceled"].includes(status))) {
        assert(now.every((status) => status === "succeeded"), `the variations ended ${now}`);
        break;
      }
      assert(Date.now() < deadline, `the variations did not finish in 120 s: ${now}`);
      await page.waitForTimeout(100);
    }
    const tokens = await storedTokens();
    assert(ids.every((id) => tokens[id] === tokens[ids[0]] && typeof tokens[id] === "string"), `one token kept for each variation: ${JSON.stringify(Object.keys(tokens))}`);
    for (const [i, id] of ids.entries()) {
      const one = card(i);
      assert((await one.getByTestId("variation-title").innerText()) === `Variation ${i + 1}`, `card ${i} is labelled ${await one.getByTestId("variation-title").innerText()}`);
      const record = await (await page.request.get(`${BASE_URL}/generations/${id}`)).json();
      assert(record.batch_id === created.batch_id && record.status === "succeeded", `variation ${i + 1}: ${record.batch_id} ${record.status}`);
      assert((await one.getByTestId("variation-seed").innerText()) === `seed ${record.seed}`, `variation ${i + 1} shows its seed ${record.seed}`);
      assert((await one.getByRole("progressbar").getAttribute("aria-valuenow")) === "100", `variation ${i + 1} at 100%`);
      await one.getByRole("button", { name: `Play Variation ${i + 1}` }).waitFor();
      await one.getByRole("button", { name: `Download Variation ${i + 1}` }).waitFor();
      await one.getByTestId("variation-waveform").waitFor();
    }
    const seeds = await Promise.all(ids.map((_, i) => card(i).getByTestId("variation-seed").innerText()));
    assert(seeds[0] !== seeds[1], `each has its own seed: ${seeds}`);
    // Side by side on a wide screen: one row, two columns (once the cards' entry and layout
    // animations have settled: read mid-animation, one card can sit a few pixels lower).
    const { left, right, ok } = await settled(async () => {
      const [left, right] = await Promise.all([card(0).boundingBox(), card(1).boundingBox()]);
      return { left, right, ok: Math.abs(left.y - right.y) <= 2 && right.x >= left.x + left.width - 1 };
    });
    assert(ok, `the cards sit at ${JSON.stringify(left)} and ${JSON.stringify(right)}`);
    console.log(`    ${ids.length} variations (${seeds.join(", ")}), side by side: ${Math.round(left.width)}px + ${Math.round(right.width)}px`);
    // Each plays on its own (in the player) and downloads on its own.
    await card(1).getByRole("button", { name: "Play Variation 2" }).click();
    await page.waitForFunction((gid) => document.querySelector("[data-testid=player]")?.getAttribute("data-generation-id") === gid, ids[1]);
    await page.waitForFunction(() => (document.querySelector("audio[data-testid=player-audio]")?.currentTime ?? 0) > 0.5, null, { timeout: 20_000 });
    await card(1).getByTestId("now-playing").waitFor();
    await page.locator("audio[data-testid=player-audio]").evaluate((el) => el.pause());
    const downloading = page.waitForEvent("download");
    await card(0).getByRole("button", { name: "Download Variation 1" }).click();
    const download = await downloading;
    assert(download.suggestedFilename().endsWith(".mp3"), `variation 1 downloads as ${download.suggestedFilename()}`);
    await page.waitForTimeout(400);
    await shot("variations");
    // Stacked on a phone.
    await page.setViewportSize({ width: 390, height: 844 });
    const stacked = await settled(async () => {
      const [top, below] = await Promise.all([card(0).boundingBox(), card(1).boundingBox()]);
      return { top, below, ok: below.y >= top.y + top.height - 1 };
    });
    assert(stacked.ok, `stacked at phone width: ${JSON.stringify(stacked.top)} and ${JSON.stringify(stacked.below)}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(overflow <= 1, `the variations are ${overflow}px wider than a phone`);
    await card(0).scrollIntoViewIfNeeded();
    await shot("variations-phone");
    await page.setViewportSize({ width: 1280, height: 1000 });
    // History says which variation each is (the page looks the batch up with GET /recent?batch_id=...).
    await openTab("History");
    await page.locator(`[data-testid=generation-card][data-generation-id="${ids[0]}"] [data-testid=batch-badge]`).filter({ hasText: "Variation 1 of 2" }).waitFor();
    await page.locator(`[data-testid=generation-card][data-generation-id="${ids[1]}"] [data-testid=batch-badge]`).filter({ hasText: "Variation 2 of 2" }).waitFor();
    // Back to one track for what follows.
    await openTab("Generate");
    await page.getByRole("group", { name: "Variations" }).getByText("1", { exact: true }).click();
  });

  await step("a job behind a running one shows its place in line; cancel both, delete one from History", async () => {
    await openTab("Generate");
    const other = `${prompt} to cancel`;
    await page.getByLabel("Prompt", { exact: true }).fill(other);
    await page.getByLabel("Duration in seconds").fill("120");
    await page.getByRole("button", { name: "Generate", exact: true }).click();
    const job = page.locator("[data-testid=job]").filter({ hasText: other });
    await job.waitFor();
    const id = await job.getAttribute("data-generation-id");
    await page.waitForFunction((gid) => document.querySelector(`[data-testid=job][data-generation-id="${gid}"]`)?.getAttribute("data-status") === "running", id, { timeout: 30_000 });
    // The running job says where it is, in words, with the service's fraction and ETA.
    await job.getByTestId("progress-phase").filter({ hasText: /^Generating · step \d+\/\d+$/ }).waitFor({ timeout: 30_000 });
    await job.getByTestId("progress-detail").filter({ hasText: /left$/ }).waitFor({ timeout: 30_000 });
    const percent = Number(await job.getByRole("progressbar").getAttribute("aria-valuenow"));
    assert(percent >= 0 && percent < 100, `a running job at ${percent}%`);
    await page.waitForTimeout(500); // the list's entry animation
    await shot("generate-running");

    // Listen while it generates: the stream plays from the start while the job still runs.
    await job.getByRole("button", { name: /while it generates$/ }).click();
    const live = job.getByTestId("live-audio");
    await live.waitFor();
    await page.waitForFunction((gid) => {
      const audio = document.querySelector(`[data-testid=job][data-generation-id="${gid}"] [data-testid=live-audio]`);
      return audio instanceof HTMLAudioElement && audio.currentTime > 0.5 && !audio.paused;
    }, id, { timeout: 30_000 });
    assert((await job.getAttribute("data-status")) === "running", "the stream played while the job ran");
    await shot("generate-listening");

    // Cancel it now, while it surely runs: a fast CPU makes even 120 s of tiny-random in seconds.
    await job.getByRole("button", { name: /^Cancel/ }).click();
    await page.waitForFunction((gid) => document.querySelector(`[data-testid=job][data-generation-id="${gid}"]`)?.getAttribute("data-status") === "canceled", id, { timeout: 30_000 });

    // The service runs up to `max_batch` jobs at once (they share decoder steps): fill every place with
    // long jobs of another browser, so that the next one has to wait.
    const health = await (await page.request.get(`${BASE_URL}/health`)).json();
    const places = Math.max(1, Number(health.queue?.max_batch ?? 1));
    const fillers = [];
    for (let i = 1; i <= places; i++) {
      const answer = await page.request.post(`${BASE_URL}/generate`, { data: { prompt: `${prompt} filler ${i}`, duration: 120 } });
      assert(answer.status() === 202, `POST /generate (filler ${i}) answered ${answer.status()}`);
      fillers.push(await answer.json());
    }
    for (const filler of fillers) {
      const until = Date.now() + 30_000;
      while ((await (await page.request.get(`${BASE_URL}/generations/${filler.generation_id}`)).json()).status !== "running") {
        assert(Date.now() < until, `filler ${filler.generation_id} did not start`);
        await page.waitForTimeout(100);
      }
    }
    const behind = `${prompt} waiting`;
    await page.getByLabel("Prompt", { exact: true }).fill(behind);
    await page.getByLabel("Duration in seconds").fill("5");
    await page.getByRole("button", { name: "Generate", exact: true }).click();
    const waiting = page.locator("[data-testid=job]").filter({ hasText: behind });
    await waiting.waitFor();
    assert((await waiting.getAttribute("data-status")) === "queued", "the second job waits");
    await waiting.filter({ hasText: "next in line" }).waitFor({ timeout: 10_000 });
    await shot("generate-queued");
    await waiting.getByRole("button", { name: /^Cancel/ }).click();
    await waiting.and(page.locator("[data-status=canceled]")).waitFor({ timeout: 30_000 });

    for (const filler of fillers) {
      const canceled = await page.request.delete(`${BASE_URL}/generations/${filler.generation_id}`, { headers: { "X-Generation-Token": filler.token } });
      assert(canceled.ok(), `canceling filler ${filler.generation_id} answered ${canceled.status()}`);
    }
    await openTab("History");
    const card = page.locator(`[data-testid=generation-card][data-generation-id="${id}"]`);
    await card.waitFor();
    await card.getByRole("button", { name: /^Delete/ }).click();
    await card.waitFor({ state: "detached" });
    const answer = await page.request.get(`${BASE_URL}/generations/${id}`);
    assert(answer.status() === 404, `the deleted generation answers ${answer.status()}`);
    assert(!(id in (await storedTokens())), "the deleted generation's token is forgotten");
  });

  await step("Stats agree with themselves: canceled jobs beside the success rate, not in it", async () => {
    await openTab("Stats");
    await page.getByTestId("success-note").waitFor();
    const stats = await (await page.request.get(`${BASE_URL}/stats?days=7`)).json();
    assert(stats.totals.canceled >= 1, `a canceled job is counted: ${JSON.stringify(stats.totals)}`);
    const note = await page.getByTestId("success-note").innerText();
    assert(note.startsWith(`${stats.totals.canceled} canceled`) && /not part of the rate/.test(note), `the note reads "${note}"`);
    const label = await page.getByTestId("success-donut-label").innerText();
    const tile = await page.getByTestId("stat-success-rate").innerText();
    assert(label === tile, `the donut says ${label}, the tile ${tile}`);
    const slices = await page.locator(".recharts-pie-sector").count();
    assert(slices === (stats.totals.succeeded > 0) + (stats.totals.failed > 0), `the donut has ${slices} slices for ${JSON.stringify(stats.totals)}`);
    await page.waitForTimeout(400);
    await shot("stats-after-cancel");
  });

  await step("dark theme and phone width", async () => {
    await openTab("Generate");
    await page.getByTestId("theme-toggle").click(); // system -> light
    await page.getByTestId("theme-toggle").click(); // light -> dark
    assert(await page.evaluate(() => document.documentElement.classList.contains("dark")), "dark class set");
    await shot("generate-dark");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot("generate-phone-dark");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    // On failure, name the elements that widen the page (hiding each in turn).
    const widest = overflow <= 1 ? [] : await page.evaluate(() => {
      const over = () => document.documentElement.scrollWidth - window.innerWidth;
      const found = [];
      let parent = document.body;
      for (let depth = 0; depth < 16 && parent; depth++) {
        const culprit = [...parent.children].find((child) => {
          const display = child.style.display;
          child.style.display = "none";
          const fits = over() <= 1;
          child.style.display = display;
          return fits;
        });
        if (!culprit) break;
        found.push(`<${culprit.tagName.toLowerCase()} class="${String(culprit.className).slice(0, 60)}">`);
        parent = culprit;
      }
      return found.slice(-4);
    });
    assert(overflow <= 1, `the page is ${overflow}px wider than a phone; widened by ${widest.join(" > ")}`);
    await openTab("History");
    await shot("history-phone-dark");
  });

  await step("phone width: a long prompt wraps in History, the row's actions get their own line", async () => {
    await page.getByTestId("theme-toggle").click(); // dark -> system (light here)
    await page.setViewportSize({ width: 390, height: 844 });
    await openTab("History");
    const card = page.locator("[data-testid=generation-card]").filter({ hasText: "another browser's long prompt" });
    await card.waitFor();
    await card.scrollIntoViewIfNeeded();
    const title = card.getByTestId("generation-title");
    const box = await title.boundingBox();
    const cardBox = await card.boundingBox();
    const lineHeight = await title.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight));
    const lines = Math.round(box.height / lineHeight);
    assert(box.width >= cardBox.width * 0.6, `the title is ${box.width}px wide in a ${cardBox.width}px row`);
    assert(lines >= 2, `the long title takes ${lines} line(s)`);
    const visible = await title.evaluate((el) => el.textContent.length);
    assert(visible > 40, `the title holds ${visible} characters`);
    const actions = await card.getByTestId("generation-actions").boundingBox();
    assert(actions.y >= box.y + box.height - 1, "the actions sit below the title at phone width");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(overflow <= 1, `History is ${overflow}px wider than a phone`);
    console.log(`    title ${Math.round(box.width)}px wide, ${lines} lines, in a ${Math.round(cardBox.width)}px row`);
    await shot("history-phone");
    await openTab("Popular");
    const ranked = page.locator(`[data-testid=popular-list] [data-generation-id="${generationId}"]`);
    await ranked.waitFor();
    const ranks = await ranked.getByTestId("generation-title").boundingBox();
    assert(ranks.width >= 150, `Popular's title is ${ranks.width}px wide`);
    await shot("popular-phone");
  });

  await step("keyboard: the tabs are reachable and move with the arrow keys", async () => {
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.getByRole("tab", { name: "History" }).focus();
    await page.keyboard.press("ArrowRight");
    assert((await page.getByRole("tab", { name: "Popular" }).getAttribute("aria-selected")) === "true", "ArrowRight selects Popular");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    assert((await page.getByRole("tab", { name: "Generate" }).getAttribute("aria-selected")) === "true", "the arrows wrap round");
  });

  const unexpected = consoleErrors.filter((text) => !/favicon|ERR_ABORTED|net::ERR_CACHE/i.test(text));
  if (unexpected.length) console.log(`  (browser console errors: ${unexpected.length})\n    ${unexpected.slice(0, 5).join("\n    ")}`);
} catch {
  exitCode = 1;
  await shot("failure").catch(() => undefined);
} finally {
  await browser.close();
}
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(exitCode || (failed ? 1 : 0));
