// The committed API types and constants must be what the service's current OpenAPI document gives:
// regenerate them with `npm run gen:api` when the service changes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

import {
  apiConstants,
  CONSTANTS_FILE,
  dumpSchemaFromPython,
  renderConstants,
  renderTypes,
  TYPES_FILE,
  // @ts-expect-error: a plain ES module without types
} from "../scripts/api-schema.mjs";

function expectSame(file: string, expected: string): void {
  const committed = readFileSync(file, "utf8");
  if (committed === expected) return;
  const want = expected.split("\n");
  const have = committed.split("\n");
  const line = want.findIndex((text, index) => text !== have[index]);
  throw new Error(
    `${file} is out of date with the service's OpenAPI schema: run \`npm run gen:api\` in frontend/ and commit the result.\n` +
      `First difference at line ${line + 1}:\n  service:   ${want[line]}\n  committed: ${have[line]}`,
  );
}

describe("API types and constants", () => {
  it("match the service's current OpenAPI schema", async () => {
    const schema = dumpSchemaFromPython();
    expect(Object.keys(schema.paths)).toContain("/generate");
    expectSame(TYPES_FILE, await renderTypes(schema));
    expectSame(CONSTANTS_FILE, renderConstants(schema));
  }, 120_000);

  it("take bounds, enums and defaults from properties, nullable branches and parameters", () => {
    const document = {
      components: {
        schemas: {
          Request: {
            properties: {
              prompt: { type: "string", minLength: 1, maxLength: 30 },
              duration: { type: "number", minimum: 5, maximum: 60, default: 10 },
              precision: { type: ["null", "string"], enum: ["auto", "int8", null] },
              seed: { oneOf: [{ type: "integer", maximum: 9 }, { type: "null" }] },
              note: { type: "string" },
            },
          },
          Plain: { properties: { id: { type: "integer" } } },
        },
        securitySchemes: {
          Key: { type: "apiKey", in: "header", name: "X-Key" },
          Cookie: { type: "apiKey", in: "cookie", name: "session" },
        },
      },
      paths: {
        "/files/{id}": {
          get: { parameters: [{ name: "format", in: "query", schema: { enum: ["wav", "mp3"], default: "wav" } }, { name: "id", in: "path", schema: { type: "string" } }] },
        },
      },
    };
    expect(apiConstants(document)).toEqual({
      schemas: {
        Request: {
          prompt: { minLength: 1, maxLength: 30 },
          duration: { default: 10, minimum: 5, maximum: 60 },
          precision: { enum: ["auto", "int8"] },
          seed: { maximum: 9 },
        },
      },
      parameters: { "GET /files/{id}": { format: { default: "wav", enum: ["wav", "mp3"] } } },
      headers: { Key: "X-Key" },
    });
    expect(renderConstants({ ...document, info: { title: "T", version: "1" } })).toContain(
      'export const API_PARAMETERS = {\n  "GET /files/{id}": {\n    format: {\n      default: "wav",\n      enum: ["wav", "mp3"],\n    },\n  },\n} as const;',
    );
  });
});
