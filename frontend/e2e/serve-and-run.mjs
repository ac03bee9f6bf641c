#!/usr/bin/env node
// Start the service on a free port with the tiny-random model and a throw-away database and audio
// folder, run the browser test (e2e/run.mjs) against it, stop the service. The exit code is the test's.
//   PYTHON=../.venv/bin/python node e2e/serve-and-run.mjs
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FRONTEND = path.resolve(HERE, "..");
const REPO = path.resolve(FRONTEND, "..");
const ARTIFACTS = path.resolve(process.env.ARTIFACTS_DIR ?? path.join(FRONTEND, "test-artifacts"));
const PYTHON = process.env.PYTHON ?? path.join(REPO, ".venv", "bin", "python");

if (!existsSync(path.join(FRONTEND, "out", "index.html"))) {
  console.error("e2e: frontend/out is not built: run `make frontend` (or `npm run build` in frontend/) first");
  process.exit(1);
}
if (!existsSync(PYTHON)) {
  console.error(`e2e: no Python with the service at ${PYTHON}: run \`make setup\` or set PYTHON`);
  process.exit(1);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const scratch = mkdtempSync(path.join(os.tmpdir(), "musicgenie-e2e-"));
rmSync(ARTIFACTS, { recursive: true, force: true }); // this run's screenshots only
mkdirSync(ARTIFACTS, { recursive: true });
const env = {
  ...process.env,
  MODEL: "tiny-random",
  DEVICE: "cpu",
  PRECISION: "auto",
  AUDIO_DIR: path.join(scratch, "audio"),
  MODEL_CACHE_DIR: process.env.E2E_MODEL_CACHE_DIR ?? path.join(scratch, "models"),
  DATABASE_URL: `sqlite+aiosqlite:///${path.join(scratch, "musicgenie.db")}`,
  ENVIRONMENT: "test",
  ADMIN_API_KEY: "e2e-admin-key",
  // One browser clicking through every tab lists the library (30 a minute by default) and generates (10)
  // more often than a person would: the test is about the UI, not the limits (whose 429 the component
  // tests cover).
  RATE_LIMITS: process.env.RATE_LIMITS ?? JSON.stringify({ recent: 120, generate: 30 }),
};

console.log(`e2e: migrating a fresh database in ${scratch}`);
const upgrade = spawnSync(PYTHON, ["-m", "app", "database", "upgrade"], { cwd: REPO, env, encoding: "utf8" });
if (upgrade.status !== 0) {
  console.error(upgrade.stdout, upgrade.stderr);
  console.error("e2e: `musicgenie database upgrade` failed");
  process.exit(1);
}

const log = createWriteStream(path.join(ARTIFACTS, "service.log"));
const service = spawn(PYTHON, ["-m", "app", "run", "--host", "127.0.0.1", "--port", String(port)], {
  cwd: REPO,
  env,
  detached: true, // its own process group, so that stopping it stops all it started
  stdio: ["ignore", "pipe", "pipe"],
});
service.stdout.pipe(log);
service.stderr.pipe(log);
let serviceExited = false;
service.on("exit", () => {
  serviceExited = true;
});

async function stopService() {
  if (serviceExited) return;
  try {
    process.kill(-service.pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 100 && !serviceExited; i++) await new Promise((r) => setTimeout(r, 100));
  if (!serviceExited) {
    try {
      process.kill(-service.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

let code = 1;
const cleanup = async () => {
  await stopService();
  log.end();
  rmSync(scratch, { recursive: true, force: true });
};
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await cleanup();
    process.exit(130);
  });
}

try {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (serviceExited) throw new Error(`the service exited at start-up: see ${path.join(ARTIFACTS, "service.log")}`);
    try {
      const response = await fetch(`${base}/health`);
      if (response.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the service did not answer at ${base} within 90 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`e2e: service up at ${base}`);
  const test = spawn(process.execPath, [path.join(HERE, "run.mjs")], {
    cwd: FRONTEND,
    env: { ...process.env, BASE_URL: base, ARTIFACTS_DIR: ARTIFACTS },
    stdio: "inherit",
  });
  code = await new Promise((resolve) => test.on("exit", (status) => resolve(status ?? 1)));
} catch (error) {
  console.error(`e2e: ${error.message}`);
  console.log("0 passed, 1 failed");
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
