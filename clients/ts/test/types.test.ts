import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url)); // clients/ts
const spec = join(root, "../../openapi/openapi.json");
const committed = join(root, "../../openapi/channelhub.d.ts");

test("openapi/channelhub.d.ts, which the SDK is typed by, is generated from the committed spec", () => {
  const out = join(mkdtempSync(join(tmpdir(), "types-")), "channelhub.d.ts");
  execFileSync(join(root, "node_modules/.bin/openapi-typescript"), [spec, "-o", out], { stdio: "pipe" });
  assert.ok(
    readFileSync(out, "utf8") === readFileSync(committed, "utf8"),
    "stale: run `make types` and commit openapi/channelhub.d.ts",
  );
});
