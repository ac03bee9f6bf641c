// The committed API types must be what the service's current OpenAPI document gives: regenerate them
// with `npm run gen:api` when the service changes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// @ts-expect-error: a plain ES module without types
import { dumpSchemaFromPython, renderTypes, TYPES_FILE } from "../scripts/api-schema.mjs";

describe("API types", () => {
  it("match the service's current OpenAPI schema", async () => {
    const schema = dumpSchemaFromPython();
    expect(Object.keys(schema.paths)).toContain("/generate");
    const expected = await renderTypes(schema);
    const committed = readFileSync(TYPES_FILE, "utf8");
    if (committed !== expected) {
      const want: string[] = expected.split("\n");
      const have = committed.split("\n");
      const line = want.findIndex((text, index) => text !== have[index]);
      throw new Error(
        "frontend/types/api.generated.ts is out of date with the service's OpenAPI schema: " +
          "run `npm run gen:api` in frontend/ and commit the result.\n" +
          `First difference at line ${line + 1}:\n  service:   ${want[line]}\n  committed: ${have[line]}`,
      );
    }
  }, 120_000);
});
