// The service's OpenAPI document and the TypeScript types made from it (shared by gen:api and the drift test).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

export const FRONTEND_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_DIR = path.resolve(FRONTEND_DIR, "..");
export const TYPES_FILE = path.join(FRONTEND_DIR, "types", "api.generated.ts");
export const CONSTANTS_FILE = path.join(FRONTEND_DIR, "types", "api.constants.ts");

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

// The keywords of a JSON Schema that bound a value or name its vocabulary: what the UI must not copy.
const CONSTRAINTS = ["default", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"];

/**
 * The bounds, enum and default of one property or parameter. A nullable field keeps them beside its
 * `oneOf` or in a branch of it; an enum's `null` (the field may be left out) is not a value to offer.
 */
export function constraintsOf(schema) {
  const found = {};
  for (const part of [schema, ...(schema.oneOf ?? []), ...(schema.anyOf ?? [])]) {
    for (const keyword of CONSTRAINTS) {
      const value = part?.[keyword];
      if (value === undefined || value === null || keyword in found) continue;
      found[keyword] = keyword === "enum" ? value.filter((item) => item !== null) : value;
    }
  }
  return found;
}

function withConstraints(entries) {
  const table = {};
  for (const [name, schema] of entries) {
    const found = constraintsOf(schema ?? {});
    if (Object.keys(found).length) table[name] = found;
  }
  return table;
}

/** Bounds, enums and defaults of the document: per schema and property, per operation and parameter. */
export function apiConstants(schema) {
  const schemas = {};
  for (const [name, definition] of Object.entries(schema.components?.schemas ?? {})) {
    const table = withConstraints(Object.entries(definition.properties ?? {}));
    if (Object.keys(table).length) schemas[name] = table;
  }
  const parameters = {};
  for (const [route, item] of Object.entries(schema.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) {
      if (!Array.isArray(operation?.parameters)) continue;
      const table = withConstraints(operation.parameters.map((parameter) => [parameter.name, parameter.schema]));
      if (Object.keys(table).length) parameters[`${method.toUpperCase()} ${route}`] = table;
    }
  }
  const headers = {};
  for (const [name, scheme] of Object.entries(schema.components?.securitySchemes ?? {})) {
    if (scheme.type === "apiKey" && scheme.in === "header") headers[name] = scheme.name;
  }
  return { schemas, parameters, headers };
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A value as a TypeScript literal, keys in the document's order, two spaces a level. */
function literal(value, depth = 0) {
  const pad = "  ".repeat(depth + 1);
  const end = "  ".repeat(depth);
  if (Array.isArray(value)) return `[${value.map((item) => literal(item, depth + 1)).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (!entries.length) return "{}";
    const lines = entries.map(([key, item]) => `${pad}${IDENTIFIER.test(key) ? key : JSON.stringify(key)}: ${literal(item, depth + 1)},`);
    return `{\n${lines.join("\n")}\n${end}}`;
  }
  return JSON.stringify(value);
}

/** The contents of types/api.constants.ts for a document. */
export function renderConstants(schema) {
  const { schemas, parameters, headers } = apiConstants(schema);
  return [
    "// Generated from the service's OpenAPI document by `npm run gen:api`. Do not edit by hand:",
    "// tests/api-drift.test.ts fails when this file and the service's current schema disagree.",
    "// The bounds, enums and defaults the service declares; the UI takes its limits and vocabularies from here.",
    `// ${schema.info?.title ?? "API"} ${schema.info?.version ?? ""}`.trimEnd(),
    "",
    "/** Per schema, per property: default, enum (without null), minimum/maximum, minLength/maxLength. */",
    `export const API_SCHEMAS = ${literal(schemas)} as const;`,
    "",
    "/** Per operation (\"GET /recent\"), per query or path parameter: the same keywords. */",
    `export const API_PARAMETERS = ${literal(parameters)} as const;`,
    "",
    "/** Per security scheme sent as a header (an API key): the header's name. */",
    `export const API_KEY_HEADERS = ${literal(headers)} as const;`,
    "",
  ].join("\n");
}
