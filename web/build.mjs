// Bundle the invoice page's JavaScript with esbuild into the Python package's static files.
//
//   node build.mjs          write src/stellarstream/api/static/{pay,pay-walletconnect,dashboard}.js
//   node build.mjs --check  build into memory and fail if the committed files differ
//
// Two self-contained bundles: WalletConnect (Reown AppKit) is ~2 MB minified, so it is only in
// the second one, served when STELLARSTREAM_WALLETCONNECT_PROJECT_ID is set.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "stellarstream", "api", "static");
const tests = join(here, "..", "tests", "browser");
const bundles = {
  "pay.js": "src/pay.js",
  "pay-walletconnect.js": "src/pay-walletconnect.js",
  "dashboard.js": "src/dashboard.js",
  // For the browser tests only: axe-core, injected by Playwright for the accessibility check.
  [join(tests, "axe.js")]: "src/axe-for-tests.js",
};
const check = process.argv.includes("--check");

let stale = [];
for (const [name, entry] of Object.entries(bundles)) {
  const result = await build({
    entryPoints: [join(here, entry)],
    outfile: name.startsWith("/") ? name : join(out, name),
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    platform: "browser",
    legalComments: "eof", // the MIT notices of what is bundled stay with it
    charset: "utf8",
    sourcemap: false,
    write: !check,
    logLevel: "warning",
    define: { "process.env.NODE_ENV": '"production"', global: "globalThis" },
  });
  if (check) {
    const fresh = result.outputFiles[0].contents;
    let committed = null;
    try {
      committed = readFileSync(name.startsWith("/") ? name : join(out, name));
    } catch {
      committed = null;
    }
    if (committed === null || Buffer.compare(Buffer.from(fresh), committed) !== 0) stale.push(name);
  }
}
if (stale.length) {
  console.error(
    `the committed bundle differs from a fresh build: ${stale.join(", ")} ` +
      "(run scripts/build-web and commit the bundles)",
  );
  process.exit(1);
}
console.log(check ? "bundles match a fresh build" : `bundles written to ${out}`);
