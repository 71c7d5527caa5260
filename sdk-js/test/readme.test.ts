/**
 * The README's usage example runs as written (type-checked against the built package, then run
 * by node against the real API), as sdk/tests/test_sdk_readme.py does for the Python SDK.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { promisify } from "node:util";
import ts from "typescript";
import { CONTRACT, world } from "./helpers.js";

const SDK_JS = fileURLToPath(new URL("../../", import.meta.url));
const README = readFileSync(`${SDK_JS}README.md`, "utf8");

test("the usage example type-checks against the built package and runs", async () => {
  const match = /<!-- usage:start -->\n```ts\n([\s\S]*?)```\n<!-- usage:end -->/.exec(README);
  assert.ok(match, "README lost its usage example");
  const dir = `${SDK_JS}.test-build/readme/`;
  mkdirSync(dir, { recursive: true });
  const source = `${dir}usage.mts`;
  writeFileSync(source, match[1] as string);

  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ["node"],
  };
  const program = ts.createProgram([source], options);
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  assert.deepEqual(diagnostics, [], "the README example type-checks (imports resolve to dist/)");

  const js = ts.transpileModule(match[1] as string, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  writeFileSync(`${dir}usage.mjs`, js.outputText);
  const { stdout } = await promisify(execFile)(process.execPath, [`${dir}usage.mjs`], {
    env: { ...process.env, NEBULA_BASE_URL: world.apiUrl },
    timeout: 60_000,
  });
  assert.match(stdout, /^share: http:\/\/pay\.example\.test\/invoice\/[0-9A-Za-z]{22}$/m);
  assert.match(stdout, /^streams: 2$/m);
  assert.match(stdout, new RegExp(`^stream: ${CONTRACT}-1 ACTIVE \\d+$`, "m"));
  assert.match(stdout, /^withdrawable: \d+(\.\d+)? \S+$/m); // the token's units and label
  assert.match(stdout, /^30-day yield estimate: \d+$/m);
});
