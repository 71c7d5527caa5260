/**
 * `streams.waitFor` / `Nebula.waitForStream`: the stream once the API shows it (and, with
 * `ledger`, its change in that ledger), else `NotIndexedError` naming the stream and the ledger
 * (the cases of sdk/tests/test_sdk_seed_example.py). The world has stream 3 at ledger 40; the
 * control server plays the indexer catching up during a wait.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Nebula, NotIndexedError, ServerError, type Sleep } from "../src/index.js";
import { CONTRACT, Sleeps, control, makeClient, world } from "./helpers.js";

const notIndexed = (pattern: RegExp, streamId: string, ledger: number | null) => (error: unknown) =>
  error instanceof NotIndexedError && pattern.test(error.message) && error.streamId === streamId && error.ledger === ledger;

test("a stream already shown (at the ledger asked for) is returned at once", async () => {
  const { client, sleeps } = makeClient({ pollInterval: 0.25 });
  assert.equal((await client.streams.waitFor(`${CONTRACT}-3`)).streamId, 3);
  const stream = await client.streams.waitFor(`${CONTRACT}-3`, { ledger: 40 });
  assert.deepEqual([stream.streamId, stream.updatedLedger], [3, 40]);
  assert.deepEqual(sleeps.delays, []); // no wait
});

test("after the timeout, NotIndexedError names the stream and the ledger; polls at pollInterval", async () => {
  const { client, sleeps } = makeClient({ pollInterval: 0.25 });
  const id = `${CONTRACT}-3`;
  await assert.rejects(
    () => client.streams.waitFor(id, { ledger: 41, timeout: 0.2 }),
    notIndexed(new RegExp(`^stream ${id} not shown by the API at ledger 41 or later after 0\\.2 s: the indexer is behind or stopped`), id, 41),
  );
  assert.ok(sleeps.delays.length > 0 && sleeps.delays.every((d) => d === 0.25), String(sleeps.delays));
  const missing = `${CONTRACT}-9`;
  await assert.rejects(
    () => client.streams.waitFor(missing, { timeout: 0.1 }),
    notIndexed(new RegExp(`^stream ${missing} not shown by the API after 0\\.1 s`), missing, null),
  );
  await assert.rejects(() => client.streams.waitFor(missing, { timeout: 0 }), NotIndexedError); // one look, no wait
});

test("a 404 means not yet: the wait goes on until the indexer shows the stream", async () => {
  const recorded = new Sleeps();
  const sleep: Sleep = async (seconds) => {
    await recorded.sleep(seconds);
    if (recorded.delays.length === 2) await control("seed-stream", { n: 8, ledger: 60 }); // the indexer catches up
  };
  const { client } = makeClient({ sleep });
  const stream = await client.streams.waitFor(`${CONTRACT}-8`, { ledger: 60 });
  assert.deepEqual([stream.streamId, stream.updatedLedger], [8, 60]);
  assert.deepEqual(recorded.delays, [1, 1]);
});

test("with ledger, the wait is for the stream's change in that ledger", async () => {
  const recorded = new Sleeps();
  const sleep: Sleep = async (seconds) => {
    await recorded.sleep(seconds);
    if (recorded.delays.length === 1) await control("seed-claim", { n: 3, ledger: 45 });
  };
  const { client } = makeClient({ sleep });
  const before = await client.streams.retrieve(`${CONTRACT}-3`);
  assert.equal(before.withdrawnAmount, 0n);
  const stream = await client.streams.waitFor(`${CONTRACT}-3`, { ledger: 45 });
  assert.deepEqual([stream.updatedLedger, stream.withdrawnAmount], [45, 10n]);
  assert.deepEqual(recorded.delays, [1]);
});

test("other errors are not waited out; bad arguments fail at once", async () => {
  let calls = 0;
  const failing: typeof fetch = async () => {
    calls++;
    return new Response(JSON.stringify({ error: { code: "internal", message: "boom" } }), { status: 500 });
  };
  const { client, sleeps } = makeClient({ fetch: failing, maxRetries: 0 });
  await assert.rejects(() => client.streams.waitFor(`${CONTRACT}-3`), ServerError);
  assert.deepEqual([calls, sleeps.delays], [1, []]);
  await assert.rejects(() => client.streams.waitFor(`${CONTRACT}-3`, { ledger: -1 }), RangeError);
  await assert.rejects(() => client.streams.waitFor(`${CONTRACT}-3`, { ledger: 1.5 }), RangeError);
  await assert.rejects(() => client.streams.waitFor(`${CONTRACT}-3`, { timeout: Number.NaN }), RangeError);
  await assert.rejects(() => client.streams.waitFor(""), TypeError);
  assert.equal(calls, 1);
});

test("Nebula.waitForStream waits the same way", async () => {
  const sleeps = new Sleeps();
  Nebula.initialize(world.apiUrl, { sleep: sleeps.sleep, pollInterval: 0.05 });
  try {
    assert.equal((await Nebula.waitForStream(`${CONTRACT}-3`, { ledger: 40 })).streamId, 3);
    await assert.rejects(() => Nebula.waitForStream(`${CONTRACT}-3`, { ledger: 1_000, timeout: 0.1 }), /at ledger 1000 or later after 0\.1 s/);
    assert.ok(sleeps.delays.length > 0 && sleeps.delays.every((d) => d === 0.05));
  } finally {
    Nebula.close();
  }
});
