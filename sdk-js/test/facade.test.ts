/** The static `Nebula` façade covers the seed's surface (as sdk/tests/test_sdk_readme.py). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvoiceLinkStatus, Nebula, NotFoundError, NotInitializedError, type PreparedTransaction } from "../src/index.js";
import { CONTRACT, KEYPAIR, NOW, Sleeps, TOKEN, control, ingestChain, keypairOf, submitted, world } from "./helpers.js";

test("calling before initialize is a clear error", async () => {
  Nebula.close();
  await assert.rejects(() => Nebula.getStats(), (e: unknown) => e instanceof NotInitializedError && /Nebula\.initialize\(baseUrl\)/.test(e.message));
  assert.throws(() => Nebula.setAuthToken("x"), NotInitializedError);
  assert.throws(() => new (Nebula as unknown as new () => unknown)(), TypeError);
});

test("the façade covers the seed's surface", async () => {
  const sleeps = new Sleeps();
  const client = Nebula.initialize(`${world.apiUrl}/api/v1`, { rpcUrl: world.rpcUrl, contractId: CONTRACT, sleep: sleeps.sleep });
  assert.equal(client, Nebula.client());
  const receiver = keypairOf(2);
  const close = world.closeTime;
  const created = await Nebula.createStream(
    { receiver: receiver.publicKey(), tokenAddress: TOKEN, amount: 1_000n, startTime: close - 50, endTime: close + 50 },
    { signer: KEYPAIR },
  );
  const withdrawn = await Nebula.withdrawFromStream({ streamId: 0 }, { signer: receiver });
  assert.ok(withdrawn.amount > 0n);
  await Nebula.topUpStream({ streamId: 0, extraAmount: 10n }, { signer: KEYPAIR });
  const unsigned: PreparedTransaction = await Nebula.cancelStream({ streamId: 0, caller: KEYPAIR.publicKey() });
  assert.ok(unsigned.sep7Uri.startsWith("web+stellar:tx?"));
  await Nebula.cancelStream({ streamId: created.streamId }, { signer: KEYPAIR });
  assert.equal((await submitted()).length, 4);
  await ingestChain();
  await control("seed-stream", { n: 5, ledger: 2_000 });

  assert.equal((await Nebula.getStream(created.streamId)).status, "CANCELED");
  const mine = await (await Nebula.getStreams({ address: receiver.publicKey(), limit: 1 })).toArray();
  assert.deepEqual(new Set(mine.map((s) => s.streamId)), new Set([0, 5]));
  const events = await (await Nebula.getStreamEvents(created.streamId)).toArray();
  assert.deepEqual(events.map((e) => e.type), ["create_v2", "claim", "top_up", "cancel"]);
  assert.equal((await Nebula.getStreamHistory(created.streamId)).events.length, 4);
  assert.equal((await Nebula.getYieldData(`${CONTRACT}-5`)).asOf, NOW);
  assert.equal((await Nebula.calculateYield(`${CONTRACT}-5`, 10)).days, 10);
  assert.equal((await Nebula.getStats()).total, 2);
  assert.equal((await Nebula.getSyncStatus()).contracts[0]?.contract, CONTRACT);
  const hits = await (await Nebula.searchStreams(`${CONTRACT}-5`)).toArray();
  assert.deepEqual(hits.map((h) => h.stream.streamId), [5]);

  const token = await Nebula.login(KEYPAIR);
  Nebula.setAuthToken(null);
  await assert.rejects(() => Nebula.listInvoiceLinks(), /bearer token/);
  Nebula.setAuthToken(token);
  const link = await Nebula.createInvoiceLink({ receiver: KEYPAIR.publicKey(), amount: 3n, tokenAddress: TOKEN, duration: 60 });
  assert.equal((await Nebula.getInvoiceLink(link.slug)).id, link.id);
  assert.deepEqual((await (await Nebula.listInvoiceLinks({ status: "DRAFT" })).toArray()).map((x) => x.id), [link.id]);
  const paid = await Nebula.payInvoiceLink(link, { source: KEYPAIR.publicKey() });
  assert.equal(paid.function, "create_stream");
  const canceled = await Nebula.updateInvoiceLinkStatus(link.id, InvoiceLinkStatus.CANCELED);
  assert.equal(canceled.status, "CANCELED");
  await Nebula.deleteInvoiceLink(link.id);
  await assert.rejects(() => Nebula.getInvoiceLink(link.slug), NotFoundError);
  Nebula.close();
});
