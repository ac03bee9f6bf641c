// The service's OpenAPI document and the TypeScript types made from it (shared by gen:api and the drift test).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

export const FRONTEND_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_DIR = path.resolve(FRONTEND_DIR, "..");
export const TYPES_FILE = path.join(FRONTEND_DIR, "types", "api.generated.ts");

const DUMP = [
  "import json",
  "from app.asgi import create_app",
  "print(json.dumps(create_app().openapi_schema.to_schema(), sort_keys=True))",
].join("\n");

/** The Python that has the service installed: $PYTHON, else the repo's .venv. */
export function servicePython() {
  if (process.env.PYTHON) return process.env.PYTHON;
  const venv = path.join(REPO_DIR, ".venv", "bin", "python");
  if (existsSync(venv)) return venv;
  throw new Error(`no Python with the service: set PYTHON or run \`make setup\` (looked for ${venv})`);
}

/** The OpenAPI document as the Python app builds it (no server needed). */
export function dumpSchemaFromPython() {
  const out = execFileSync(servicePython(), ["-c", DUMP], {
    cwd: REPO_DIR,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    // Rate limits wrap routes in routers; the document is the same either way. Keep the dump quiet.
    env: { ...process.env, DEBUG: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(out);
}

/** The OpenAPI document of a running service, e.g. http://127.0.0.1:8000. */
export async function fetchSchema(baseUrl) {
  const url = new URL("/schema/openapi.json", baseUrl);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return response.json();
}

/** The contents of types/api.generated.ts for a document. */
export async function renderTypes(schema) {
  const ast = await openapiTS(schema, { alphabetize: true });
  const header = [
    "// Generated from the service's OpenAPI document by `npm run gen:api`. Do not edit by hand:",
    "// tests/api-drift.test.ts fails when this file and the service's current schema disagree.",
    `// ${schema.info?.title ?? "API"} ${schema.info?.version ?? ""}`.trimEnd(),
    "",
  ].join("\n");
  return `${header}\n${astToString(ast)}`;
}
