/** The package's public face: the seed's surface, the error tree, the version. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as sdk from "../src/index.js";
import type {
  CancelStreamParams,
  CreateStreamParams,
  Stream,
  StreamEvent,
  StreamHistory,
  StreamStatus,
  WithdrawParams,
  YieldData,
} from "../src/index.js";

test("the seed's static surface is on Nebula", () => {
  const seed = [
    "initialize",
    "setAuthToken",
    "createStream",
    "getStream",
    "getStreams",
    "withdrawFromStream",
    "cancelStream",
    "getStreamHistory",
    "getYieldData",
    "calculateYield",
    "getStreamEvents",
    "getStats",
    "searchStreams",
  ];
  const more = ["client", "close", "login", "topUpStream", "waitForStream", "getSyncStatus", "createInvoiceLink", "getInvoiceLink", "listInvoiceLinks", "updateInvoiceLinkStatus", "deleteInvoiceLink", "payInvoiceLink"];
  const statics = Object.getOwnPropertyNames(sdk.Nebula).filter((n) => typeof (sdk.Nebula as unknown as Record<string, unknown>)[n] === "function");
  assert.deepEqual(statics.sort(), [...seed, ...more].sort());
});

test("the seed's types are exported (compile time) and StreamStatus at run time", () => {
  const status: StreamStatus = sdk.StreamStatus.ACTIVE;
  const params: CreateStreamParams = { receiver: "G", amount: 1n, tokenAddress: "C", duration: 60, yieldEnabled: false };
  const withdraw: WithdrawParams = { streamId: "C-1" };
  const cancel: CancelStreamParams = { streamId: 1 };
  type Seed = [Stream, StreamEvent, StreamHistory, YieldData];
  const none: Seed | null = null;
  assert.ok(status && params && withdraw && cancel && none === null);
  assert.deepEqual(Object.keys(sdk.StreamStatus), ["ACTIVE", "PAUSED", "COMPLETED", "CANCELED", "ARCHIVED"]);
});

test("one error tree", () => {
  const { NebulaError, APIError, APIStatusError, APIConnectionError } = sdk;
  const tree: [unknown, unknown][] = [
    [sdk.APIError, NebulaError],
    [sdk.APIStatusError, APIError],
    [sdk.ValidationError, APIStatusError],
    [sdk.AuthenticationError, APIStatusError],
    [sdk.PermissionDeniedError, APIStatusError],
    [sdk.NotFoundError, APIStatusError],
    [sdk.ConflictError, APIStatusError],
    [sdk.RateLimitError, APIStatusError],
    [sdk.ServerError, APIStatusError],
    [sdk.APIConnectionError, APIError],
    [sdk.APITimeoutError, APIConnectionError],
    [sdk.RPCError, NebulaError],
    [sdk.SimulationError, NebulaError],
    [sdk.TransactionFailedError, NebulaError],
    [sdk.SigningError, NebulaError],
    [sdk.NotIndexedError, NebulaError],
    [sdk.NotInitializedError, NebulaError],
  ];
  for (const [child, parent] of tree) {
    assert.equal(Object.getPrototypeOf(child), parent, String((child as { name: string }).name));
  }
  const error = new sdk.SimulationError("x", { contractErrorCode: 3 });
  assert.ok(error instanceof Error && error.name === "SimulationError" && error.code === "contract_error_3");
});

test("the version matches package.json", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string; name: string };
  assert.equal(sdk.VERSION, pkg.version);
  assert.equal(pkg.name, "@stellarstream/nebula-sdk");
});
