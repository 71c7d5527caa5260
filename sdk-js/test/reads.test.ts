/** Every API read of the SDK against the real API (the cases of sdk/tests/test_sdk_reads.py). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CursorPage, InvoiceLinkStatus, NotFoundError, StreamStatus, signChallenge, type InvoiceLink, type Stream } from "../src/index.js";
import { BIG, CONTRACT, NOW, OTHER, RECEIVER, SENDER, TOKEN, keypairOf, makeClient } from "./helpers.js";

function checkStream(stream: Stream): void {
  assert.equal(stream.id, `${CONTRACT}-0`);
  assert.equal(stream.streamId, 0);
  assert.equal(stream.contract, CONTRACT);
  assert.equal(typeof stream.totalAmount, "bigint");
  assert.equal(stream.totalAmount, BIG);
  assert.equal(stream.status, StreamStatus.ACTIVE);
  assert.equal(stream.asOf, NOW);
  // the contract's own integer math (its overflow fallback for amounts this big)
  assert.ok(stream.streamedAmount > 0n && stream.streamedAmount < BIG);
  assert.equal(stream.withdrawableAmount, stream.streamedAmount);
  assert.equal(stream.refundableAmount, BIG - stream.streamedAmount);
  assert.deepEqual([stream.sender, stream.receiver, stream.token], [SENDER, RECEIVER, TOKEN]);
  assert.equal(stream.cancelToReceiver, null);
}

test("streams, events, history, yield, stats, sync, search, CSV", async () => {
  const { client } = makeClient();
  checkStream(await client.streams.retrieve(`${CONTRACT}-0`));

  const page = await client.streams.list({ limit: 3 });
  assert.ok(page instanceof CursorPage);
  assert.equal(page.data.length, 3);
  assert.ok(page.hasNextPage());
  const second = await page.nextPage();
  const firstIds = new Set(page.data.map((s) => s.id));
  assert.ok(second.data.every((s) => !firstIds.has(s.id)));
  const everything: Stream[] = [];
  for await (const stream of page) everything.push(stream); // async iteration walks every page
  assert.equal(everything.length, 7);
  assert.equal(new Set(everything.map((s) => s.id)).size, 7);
  const sizes: number[] = [];
  let last: CursorPage<Stream> | null = null;
  for await (const p of page.iterPages()) {
    sizes.push(p.data.length);
    last = p;
  }
  assert.deepEqual(sizes, [3, 3, 1]);
  assert.ok(last && !last.hasNextPage());
  await assert.rejects(() => (last as CursorPage<Stream>).nextPage(), /last page/);

  const canceled = await (await client.streams.list({ status: StreamStatus.CANCELED })).toArray();
  assert.deepEqual(canceled.map((s) => s.streamId), [2]);
  const incoming = await (await client.streams.list({ address: RECEIVER, direction: "in" })).toArray();
  assert.deepEqual(new Set(incoming.map((s) => s.streamId)), new Set([0, 1, 2, 3, 4, 5, 6]));
  assert.deepEqual(await (await client.streams.list({ sender: OTHER })).toArray(), []);
  assert.equal((await client.streams.list({ receiver: RECEIVER, token: TOKEN, contract: CONTRACT, limit: 2 })).data.length, 2);
  const oldest = (await client.streams.list({ sort: "created_asc", limit: 1 })).data[0];
  assert.equal(oldest?.streamId, 0);

  const events = await (await client.streams.listEvents(`${CONTRACT}-1`, { limit: 1 })).toArray();
  assert.deepEqual(events.map((e) => e.type), ["create_v2", "claim"]);
  assert.ok(events[0]?.ledgerClosedAt instanceof Date);
  const history = await client.streams.retrieveHistory(`${CONTRACT}-2`);
  assert.equal(history.stream.status, StreamStatus.CANCELED);
  assert.deepEqual(history.events.map((e) => e.type), ["create_v2", "cancel"]);
  assert.equal(history.events[1]?.decoded.to_receiver, "500000");
  assert.equal(history.stream.cancelToReceiver, 500_000n);

  const yieldNow = await client.streams.retrieveYield(`${CONTRACT}-0`);
  assert.equal(yieldNow.stream, `${CONTRACT}-0`);
  assert.equal(yieldNow.asOf, NOW);
  assert.equal(typeof yieldNow.principalLocked, "bigint");
  const projection = await client.streams.projectYield(`${CONTRACT}-0`, 30);
  assert.equal(projection.days, 30);
  assert.equal(typeof projection.projectedYieldEstimate, "bigint");

  const stats = await client.stats.retrieve();
  assert.deepEqual([stats.total, stats.canceled, stats.active], [7, 1, 6]);
  assert.equal(stats.tokens[0]?.token, TOKEN);
  assert.ok((stats.tokens[0]?.totalVolume ?? 0n) >= BIG);
  const sync = await client.syncStatus.retrieve();
  assert.deepEqual(sync.contracts.map((c) => c.contract), [CONTRACT]);
  assert.equal(sync.contracts[0]?.lastIngestedLedger, 31);

  const hits = await (await client.streams.search(`${CONTRACT}-3`)).toArray();
  assert.deepEqual(hits.map((h) => [h.match, h.stream.streamId]), [["id", 3]]);
  // A hit is a stream, with how it matched (the API's {match, stream} flattened).
  const [hit] = hits;
  assert.ok(hit);
  const asStream: Stream = hit;
  assert.deepEqual([hit.match, asStream.id, hit.streamId, hit.totalAmount], ["id", `${CONTRACT}-3`, 3, 1_000_003n]);
  assert.deepEqual(hit.stream, await client.streams.retrieve(`${CONTRACT}-3`));
  assert.ok(!("match" in hit.stream));
  assert.ok(!Object.keys(hit).includes("stream"), "hit.stream is not enumerable");
  const { match, ...fields } = hit;
  assert.equal(match, "id");
  assert.deepEqual(fields, hit.stream);
  assert.ok(!("stream" in (JSON.parse(JSON.stringify(hit, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))) as object)));
  const bySender = await (await client.streams.search(SENDER, { limit: 2 })).toArray();
  assert.equal(bySender.length, 7);

  const csv = await client.streams.exportCsv(SENDER);
  assert.ok(csv.split("\n")[0]?.startsWith("stream,direction,event"));
  assert.ok(csv.includes(`${CONTRACT}-2,out,cancel`));

  await assert.rejects(() => client.streams.retrieve(`${CONTRACT}-99`), NotFoundError);
});

test("SEP-10 login and invoice links, amounts as bigint", async () => {
  const { client } = makeClient();
  const keypair = keypairOf(81);
  const challenge = await client.auth.challenge(keypair.publicKey());
  assert.equal(challenge.network_passphrase, "Test SDF Network ; September 2015");
  const token = await client.auth.login(keypair);
  assert.equal(client.token, token.token);
  assert.ok(token.expires_at instanceof Date && token.expires_at.getTime() > NOW * 1000);

  const expires = new Date(Date.now() + 3 * 86_400_000);
  const link = await client.invoiceLinks.create({
    receiver: RECEIVER,
    amount: BIG,
    tokenAddress: TOKEN,
    duration: 86_400,
    description: "March retainer",
    pdfUrl: "https://example.com/invoice.pdf",
    expiresAt: expires,
  });
  assert.equal(link.status, InvoiceLinkStatus.DRAFT);
  assert.equal(link.amount, BIG);
  assert.equal(link.sender, keypair.publicKey());
  assert.ok(link.shareUrl.endsWith(link.slug));
  assert.ok(link.expiresAt && Math.abs(link.expiresAt.getTime() - expires.getTime()) < 1000);
  assert.equal((await client.invoiceLinks.retrieve(link.slug)).id, link.id);

  const others: InvoiceLink[] = [];
  for (let n = 0; n < 3; n++) {
    others.push(await client.invoiceLinks.create({ receiver: RECEIVER, amount: BigInt(n + 1), tokenAddress: TOKEN, duration: 60 }));
  }
  const walked = (await (await client.invoiceLinks.list({ limit: 2 })).toArray()).map((x) => x.id);
  assert.equal(walked.length, 4); // 2 + 2 over two pages
  assert.deepEqual([...walked].sort(), [...others.map((o) => o.id), link.id].sort());
  const signed = await client.invoiceLinks.updateStatus(link.id, InvoiceLinkStatus.SIGNED);
  assert.equal(signed.status, "SIGNED");
  assert.ok(signed.signedAt instanceof Date);
  const done = await client.invoiceLinks.updateStatus(link.id, "COMPLETED", { txHash: "ab".repeat(32), streamId: 12 });
  assert.deepEqual([done.status, done.txHash, done.streamId], ["COMPLETED", "ab".repeat(32), 12]);
  const completed = await (await client.invoiceLinks.list({ status: "COMPLETED" })).toArray();
  assert.deepEqual(completed.map((x) => x.id), [link.id]);

  await client.invoiceLinks.delete((others[0] as { id: string }).id);
  await assert.rejects(() => client.invoiceLinks.retrieve((others[0] as { slug: string }).slug), NotFoundError);
  assert.equal((await (await client.invoiceLinks.list()).toArray()).length, 3);
});

test("an idempotent create replays the same link", async () => {
  const { client } = makeClient();
  await client.auth.login(keypairOf(82));
  const params = { receiver: RECEIVER, amount: 7n, tokenAddress: TOKEN, duration: 60, idempotencyKey: "inv-1" };
  const first = await client.invoiceLinks.create(params);
  const again = await client.invoiceLinks.create(params);
  assert.equal(again.id, first.id);
});

test("withOptions and token handling", async () => {
  const { client } = makeClient();
  const keypair = keypairOf(83);
  const token = await client.auth.token(signChallenge(await client.auth.challenge(keypair.publicKey()), keypair));
  assert.equal(client.token, null); // token() does not store it; login() does
  const authed = client.withOptions({ token: token.token, maxRetries: 0 });
  assert.equal(authed.token, token.token);
  assert.equal(authed.maxRetries, 0);
  assert.deepEqual(await (await authed.invoiceLinks.list()).toArray(), []);
  assert.ok(!JSON.stringify(authed).includes(token.token));
});
