#!/usr/bin/env node
// Regenerate types/api.generated.ts (the types) and types/api.constants.ts (bounds, enums, defaults)
// from the service's OpenAPI document.
//   npm run gen:api                          # from the Python app (../.venv, or $PYTHON)
//   npm run gen:api -- --url http://127.0.0.1:8000   # from a running service
//   npm run gen:api -- --file openapi.json           # from a dumped document
import { readFileSync, writeFileSync } from "node:fs";
import { CONSTANTS_FILE, dumpSchemaFromPython, fetchSchema, renderConstants, renderTypes, TYPES_FILE } from "./api-schema.mjs";

const args = process.argv.slice(2);
const flag = (name) => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
};

const url = flag("--url");
const file = flag("--file");
const schema = url ? await fetchSchema(url) : file ? JSON.parse(readFileSync(file, "utf8")) : dumpSchemaFromPython();
writeFileSync(TYPES_FILE, await renderTypes(schema));
writeFileSync(CONSTANTS_FILE, renderConstants(schema));
console.log(`wrote ${TYPES_FILE} (${Object.keys(schema.paths ?? {}).length} paths) and ${CONSTANTS_FILE}`);
