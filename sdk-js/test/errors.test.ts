/**
 * Error mapping and retries (the cases of sdk/tests/test_sdk_errors.py). Statuses the real API
 * produces (401, 404, 409, 422, 400) are provoked from it; 403, 429, 5xx, timeouts and refused
 * connections come from a tiny scripted HTTP server on a real socket in this process. The retry
 * sleep is injected, so backoff and Retry-After are checked without waiting.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import {
  APIConnectionError,
  APIError,
  APIStatusError,
  APITimeoutError,
  AuthenticationError,
  ConflictError,
  NebulaClient,
  NebulaError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServerError,
  ValidationError,
} from "../src/index.js";
import { CONTRACT, Sleeps, TOKEN, account, keypairOf, makeClient } from "./helpers.js";

// --- the real API ---

test("the real API's statuses map to errors, with code, field and request id", async () => {
  const { client } = makeClient();
  const unauthorized = await client.invoiceLinks.list().catch((e: unknown) => e);
  assert.ok(unauthorized instanceof AuthenticationError);
  assert.equal(unauthorized.status, 401);
  assert.equal(unauthorized.code, "unauthorized");
  assert.ok(unauthorized.requestId && unauthorized.message.includes("bearer token"));

  const missing = await client.streams.retrieve(`${CONTRACT}-404`).catch((e: unknown) => e);
  assert.ok(missing instanceof NotFoundError);
  assert.deepEqual([missing.status, missing.code], [404, "not_found"]);
  assert.equal(missing.requestId, missing.headers.get("x-request-id"));

  await client.auth.login(keypairOf(90));
  const link = await client.invoiceLinks.create({ receiver: account(2), amount: 1n, tokenAddress: TOKEN, duration: 60 });
  await client.invoiceLinks.updateStatus(link.id, "CANCELED");
  const conflict = await client.invoiceLinks.updateStatus(link.id, "SIGNED").catch((e: unknown) => e);
  assert.ok(conflict instanceof ConflictError);
  assert.ok(conflict.status === 409 && conflict.message.includes("CANCELED"));

  const invalid = await client.invoiceLinks
    .create({ receiver: account(2), amount: 1n, tokenAddress: TOKEN, duration: 0 })
    .catch((e: unknown) => e);
  assert.ok(invalid instanceof ValidationError);
  assert.deepEqual([invalid.status, invalid.field], [422, "duration"]);

  const badCursor = await client.streams.list({ cursor: "not-a-cursor" }).catch((e: unknown) => e);
  assert.ok(badCursor instanceof ValidationError);
  assert.deepEqual([badCursor.status, badCursor.field], [400, "cursor"]);

  const days = await client.streams.projectYield(`${CONTRACT}-0`, 0).catch((e: unknown) => e);
  assert.ok(days instanceof ValidationError && days.field === "days");

  const badJson = await client
    .request({ method: "POST", path: "/api/v1/auth/token", content: "{not json", headers: { "Content-Type": "application/json" } })
    .catch((e: unknown) => e);
  assert.ok(badJson instanceof ValidationError);
  assert.deepEqual([badJson.status, badJson.code], [400, "bad_request"]);
  assert.ok(badJson instanceof APIStatusError && badJson instanceof NebulaError && badJson instanceof Error);
  assert.match(String(badJson), /ValidationError: .*status=400, code=bad_request, requestId=/);
});

// --- a scripted server ---

interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  delay?: number;
}
interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

const replies: Reply[] = [];
const requests: Seen[] = [];
let server: Server;
let url = "";

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
      const reply = replies.shift() ?? {};
      const send = (): void => {
        if (res.destroyed) return;
        res.writeHead(reply.status ?? 200, { "content-type": "application/json", "x-request-id": "req-1", ...(reply.headers ?? {}) });
        res.end(JSON.stringify(reply.body ?? { ok: true }));
      };
      if (reply.delay) setTimeout(send, reply.delay * 1000);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const error = (code: string, message: string) => ({ error: { code, message, field: null } });

function scripted(options: { timeout?: number; maxRetries?: number } = {}): { client: NebulaClient; sleeps: Sleeps } {
  replies.length = 0;
  requests.length = 0;
  const sleeps = new Sleeps();
  return { client: new NebulaClient(url, { timeout: 5, sleep: sleeps.sleep, ...options }), sleeps };
}

test("5xx is retried with exponential backoff and jitter", async () => {
  const { client, sleeps } = scripted();
  replies.push({ status: 503, body: error("unavailable", "busy") }, { status: 502, body: "bad gateway" });
  assert.deepEqual(await client.get("/api/v1/stats"), { ok: true });
  assert.equal(requests.length, 3);
  const [first, second] = sleeps.delays as [number, number];
  assert.ok(first >= 0.375 && first <= 0.5, String(first)); // 0.5 s doubling, minus <= 25 %
  assert.ok(second >= 0.75 && second <= 1.0, String(second));
  assert.equal(requests[1]?.headers["x-nebula-retry-count"], "1");
});

test("5xx after all retries throws ServerError with code, message and request id", async () => {
  const { client, sleeps } = scripted();
  replies.push(...Array.from({ length: 3 }, () => ({ status: 500, body: error("internal_error", "boom") })));
  const failed = await client.streams.retrieve(`${CONTRACT}-1`).catch((e: unknown) => e);
  assert.ok(failed instanceof ServerError);
  assert.deepEqual([failed.status, failed.code, failed.message, failed.requestId], [500, "internal_error", "boom", "req-1"]);
  assert.equal(requests.length, 3);
  assert.equal(sleeps.delays.length, 2); // maxRetries 2
});

test("429 honours Retry-After, then throws RateLimitError", async () => {
  const { client, sleeps } = scripted();
  const limited = { status: 429, body: error("rate_limited", "slow down") };
  replies.push({ ...limited, headers: { "Retry-After": "3" } }, { ...limited, headers: { "Retry-After": "3" } }, { ...limited, headers: { "Retry-After-Ms": "1500" } });
  const failed = await client.stats.retrieve().catch((e: unknown) => e);
  assert.deepEqual(sleeps.delays, [3, 3]);
  assert.ok(failed instanceof RateLimitError);
  assert.equal(failed.retryAfter, null); // the last had only -Ms
  assert.equal(failed.status, 429);
  replies.push({ status: 429, body: {}, headers: { "Retry-After-Ms": "1500" } }, { status: 200, body: { x: 1 } });
  assert.deepEqual(await client.get("/api/v1/stats"), { x: 1 });
  assert.equal(sleeps.delays[sleeps.delays.length - 1], 1.5);
});

test("a Retry-After beyond a minute falls back to backoff", async () => {
  const { client, sleeps } = scripted();
  replies.push({ status: 503, body: {}, headers: { "Retry-After": "3600" } });
  await client.get("/api/v1/stats");
  const delay = sleeps.delays[0] as number;
  assert.ok(delay >= 0.375 && delay <= 0.5);
});

test("POST retries reuse one Idempotency-Key", async () => {
  const { client } = scripted();
  replies.push({ status: 500, body: {} }, { status: 408, body: {} });
  await client.post("/api/v1/invoice-links", { a: 1 });
  const keys = requests.map((r) => r.headers["idempotency-key"]);
  assert.equal(keys.length, 3);
  assert.equal(new Set(keys).size, 1);
  assert.ok(String(keys[0]).startsWith("nebula-"));
  assert.equal(requests[0]?.body, '{"a":1}');
  await client.post("/api/v1/invoice-links", { a: 1 });
  assert.notEqual(requests[requests.length - 1]?.headers["idempotency-key"], keys[0]); // a new call, a new key
});

test("PATCH is retried only when the server did not process it", async () => {
  const { client } = scripted();
  replies.push({ status: 500, body: error("internal_error", "maybe applied") });
  await assert.rejects(() => client.patch("/api/v1/invoice-links/x/status", {}), ServerError);
  assert.equal(requests.length, 1); // a 500 may have applied it: not repeated
  replies.push({ status: 429, body: {}, headers: { "Retry-After": "0" } });
  assert.ok(await client.patch("/api/v1/invoice-links/x/status", {}));
  assert.equal(requests.length, 3);
});

test("403 and X-Should-Retry: false are not retried", async () => {
  const { client } = scripted();
  replies.push({ status: 403, body: error("forbidden", "not yours") });
  const denied = await client.stats.retrieve().catch((e: unknown) => e);
  assert.ok(denied instanceof PermissionDeniedError);
  assert.deepEqual([denied.status, denied.code], [403, "forbidden"]);
  replies.push({ status: 503, body: {}, headers: { "X-Should-Retry": "false" } });
  await assert.rejects(() => client.stats.retrieve(), ServerError);
  assert.equal(requests.length, 2);
});

test("a timeout is retried, then throws APITimeoutError", async () => {
  const { client, sleeps } = scripted({ timeout: 0.1, maxRetries: 1 });
  replies.push({ delay: 0.5 }, { delay: 0.5 });
  const failed = await client.stats.retrieve().catch((e: unknown) => e);
  assert.ok(failed instanceof APITimeoutError && failed instanceof APIConnectionError && failed instanceof APIError);
  assert.equal(sleeps.delays.length, 1);
});

async function closedPort(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

test("a refused connection throws APIConnectionError after the retries", async () => {
  const sleeps = new Sleeps();
  const client = new NebulaClient(await closedPort(), { maxRetries: 3, sleep: sleeps.sleep });
  const failed = await client.stats.retrieve().catch((e: unknown) => e);
  assert.ok(failed instanceof APIConnectionError && !(failed instanceof APITimeoutError));
  assert.equal(sleeps.delays.length, 3);
  assert.ok((sleeps.delays[2] as number) <= 2.0);
});

test("maxRetries 0, and a success that does not match the type", async () => {
  const { client, sleeps } = scripted({ maxRetries: 0 });
  replies.push({ status: 503, body: {} });
  await assert.rejects(() => client.stats.retrieve(), ServerError);
  replies.push({ status: 200, body: { unexpected: "shape" } });
  await assert.rejects(() => client.stats.retrieve(), (e: unknown) => e instanceof APIError && /does not match Stats/.test(e.message));
  assert.deepEqual(sleeps.delays, []);
});

test("bad inputs are refused before any request", async () => {
  const { client } = scripted();
  assert.throws(() => new NebulaClient(url, { maxRetries: -1 }), RangeError);
  await assert.rejects(() => client.streams.exportCsv("not-an-address"), TypeError);
  await assert.rejects(() => client.auth.challenge(CONTRACT), TypeError); // a C... is not an account
  await assert.rejects(() => client.invoiceLinks.create({ receiver: account(2), amount: 1.5, tokenAddress: TOKEN, duration: 60 }), TypeError);
  assert.equal(requests.length, 0);
});
