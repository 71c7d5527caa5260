/**
 * The API's `tokenInfo` reaches SDK users as `TokenInfo`, with exact unit formatting (the cases
 * of sdk/tests/test_sdk_tokens.py). The server names the token by its settings
 * (`token_symbols`/`token_decimals`), so no RPC read is needed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { StreamSpec, formatUnits, parse, shortAddress, tokenLabel, tokenUnits, type Stream, type TokenInfo } from "../src/index.js";
import { CONTRACT, RECEIVER, TOKEN, keypairOf, makeClient, world } from "./helpers.js";

const EURX: TokenInfo = { address: TOKEN, symbol: "EURX", name: null, decimals: 2, homeDomain: null };

test("streams and invoice links carry the token info, on every route", async () => {
  const { client } = makeClient();
  const id = `${CONTRACT}-0`;
  const stream = await client.streams.retrieve(id);
  assert.deepEqual(stream.tokenInfo, EURX);
  assert.equal(stream.totalAmount, 1_234_567n);
  assert.equal(tokenUnits(stream.tokenInfo as TokenInfo, stream.totalAmount), "12345.67");
  assert.equal(tokenLabel(stream.tokenInfo as TokenInfo), "EURX");

  const [listed] = (await client.streams.list()).data;
  assert.deepEqual(listed?.tokenInfo, EURX);
  assert.deepEqual((await client.streams.retrieveHistory(id)).stream.tokenInfo, EURX);
  const [hit] = (await client.streams.search(id)).data;
  assert.deepEqual([hit?.tokenInfo, hit?.stream.tokenInfo], [EURX, EURX]);

  await client.auth.login(keypairOf(84));
  const link = await client.invoiceLinks.create({ receiver: RECEIVER, amount: 250n, tokenAddress: TOKEN, duration: 60 });
  assert.deepEqual(link.tokenInfo, EURX);
  assert.equal(link.tokenInfo && tokenUnits(link.tokenInfo, link.amount), "2.5");
  assert.deepEqual((await client.invoiceLinks.retrieve(link.slug)).tokenInfo, EURX);
  assert.deepEqual((await client.invoiceLinks.list()).data.map((l) => l.tokenInfo), [EURX]);
});

test("a server that does not send tokenInfo (or sends null) still parses: the field is absent", async () => {
  const raw = (await (await fetch(`${world.apiUrl}/api/v1/streams/${CONTRACT}-0`)).json()) as Record<string, unknown>;
  assert.ok(raw.tokenInfo, "this server sends it");
  for (const older of [{ ...raw, tokenInfo: undefined }, { ...raw, tokenInfo: null }]) {
    const stream = parse<Stream>(StreamSpec, older);
    assert.ok(!("tokenInfo" in stream));
    assert.equal(stream.tokenInfo, undefined);
    assert.equal(stream.totalAmount, 1_234_567n);
  }
  assert.throws(() => parse<Stream>(StreamSpec, { ...raw, tokenInfo: { ...EURX, decimals: "2" } }), /Stream\.tokenInfo\.decimals is not an integer/);
});

test("units are exact for any i128, no floats", () => {
  const token: TokenInfo = { address: TOKEN, symbol: null, name: null, decimals: 7, homeDomain: null };
  assert.equal(tokenUnits(token, 2n ** 127n - 1n), "17014118346046923173168730371588.4105727");
  assert.equal(tokenUnits(token, -(2n ** 127n)), "-17014118346046923173168730371588.4105728");
  assert.equal(tokenUnits(token, -15n), "-0.0000015");
  assert.equal(tokenUnits(token, 10n ** 7n), "1");
  assert.equal(tokenUnits(token, 0n), "0");
  assert.equal(tokenUnits(token, 15), "0.0000015"); // a safe-integer number is accepted
  assert.equal(tokenUnits({ decimals: 0 }, 42n), "42");
  assert.equal(formatUnits(10_000_000_000n, 7), "1000");
  assert.equal(formatUnits("123450", 4), "12.345");
  assert.equal(formatUnits(1n, 38), `0.${"0".repeat(37)}1`);
  assert.throws(() => formatUnits(1.5, 7), TypeError);
  assert.throws(() => formatUnits(2 ** 60, 7), TypeError); // unsafe number: use a bigint
  assert.throws(() => formatUnits(1n, -1), RangeError);
  assert.throws(() => formatUnits(1n, 1.5), RangeError);

  assert.equal(tokenLabel(token), `${TOKEN.slice(0, 4)}…${TOKEN.slice(-4)}`);
  assert.equal(tokenLabel({ address: TOKEN, symbol: "" }), shortAddress(TOKEN)); // empty symbol: unknown
  assert.equal(tokenLabel({ address: TOKEN, symbol: "USDC" }), "USDC");
  assert.equal(shortAddress("CABCDEFGH"), "CABCDEFGH");
});
