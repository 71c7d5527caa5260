/**
 * Contract calls against the fake Soroban RPC node (the cases of sdk/tests/test_sdk_contract.py):
 * the submitted transaction is decoded with stellar-sdk and its function, every argument, memo
 * and signature are checked; the chain's events are ingested into the real backend (through the
 * control server) and read back through the SDK. The tests share one chain, in order.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Keypair, TransactionBuilder, nativeToScVal, type Transaction } from "@stellar/stellar-sdk";
import {
  InvoiceLinkStatus,
  SigningError,
  SimulationError,
  StreamStatus,
  TransactionFailedError,
  type CreateStreamResult,
  type PreparedTransaction,
} from "../src/index.js";
import {
  CONTRACT,
  KEYPAIR,
  PASSPHRASE,
  RECEIVER,
  TOKEN,
  account,
  assertPrepared,
  assertSignedBy,
  contractAddress,
  control,
  ingestChain,
  invocation,
  keypairOf,
  lastSubmitted,
  makeClient,
  native,
  streamArgs,
  submitted,
  world,
} from "./helpers.js";

const receiverKeypair = keypairOf(2); // account(2)'s key: RECEIVER
let keypairSequence = 4_000_000_000n; // KEYPAIR's sequence on the fake node

function sep7Params(uri: string): URLSearchParams {
  assert.ok(uri.startsWith("web+stellar:tx?xdr="));
  return new URLSearchParams(uri.slice("web+stellar:tx?".length));
}

test("createStream with a Keypair sends every StreamArgs key", async () => {
  const { client } = makeClient();
  const vault = contractAddress(30);
  const affiliate = account(31);
  const split = account(32);
  const result = await client.streams.create(
    {
      receiver: RECEIVER,
      token: TOKEN,
      totalAmount: 2n ** 100n,
      duration: 30 * 86_400,
      cliffTime: null,
      stepDuration: 60n,
      multiplierBps: -5n,
      penaltyBps: 250,
      vaultAddress: vault,
      yieldEnabled: true,
      isRecurrent: true,
      cycleDuration: 86_400,
      cancellationType: 2,
      affiliate,
      memo: "INV_2026_001",
      yieldRecipient: 1,
      splitBps: 1_000,
      curveType: 1,
      splitAddress: split,
    },
    { signer: KEYPAIR },
  );
  keypairSequence += 1n;
  assert.deepEqual([result.streamId, result.onChainId, result.ledger], [`${CONTRACT}-0`, 0, 1_001]);
  assert.equal(result.startTime, world.closeTime + 30);
  assert.equal(result.endTime, result.startTime + 2_592_000);

  const tx = await lastSubmitted();
  assert.equal(result.txHash, tx.hash().toString("hex"));
  assertSignedBy(tx, KEYPAIR);
  assertPrepared(tx, keypairSequence.toString());
  const { contract, fn, args } = invocation(tx);
  assert.deepEqual([contract, fn, args.length], [CONTRACT, "create_stream", 1]);
  assert.deepEqual(streamArgs(args[0]!), {
    affiliate: ["scvAddress", affiliate],
    cancellation_type: ["scvU32", 2],
    cliff_time: ["scvU64", BigInt(result.startTime)],
    curve_type: ["scvU32", 1],
    cycle_duration: ["scvU64", 86_400n],
    end_time: ["scvU64", BigInt(result.endTime)],
    is_recurrent: ["scvBool", true],
    memo: ["scvSymbol", "INV_2026_001"],
    multiplier_bps: ["scvI128", -5n],
    penalty_bps: ["scvU32", 250],
    receiver: ["scvAddress", RECEIVER],
    sender: ["scvAddress", KEYPAIR.publicKey()],
    split_address: ["scvAddress", split],
    split_bps: ["scvU32", 1_000],
    start_time: ["scvU64", BigInt(result.startTime)],
    step_duration: ["scvI128", 60n],
    token: ["scvAddress", TOKEN],
    total_amount: ["scvI128", 2n ** 100n],
    vault_address: ["scvAddress", vault],
    yield_enabled: ["scvBool", true],
    yield_recipient: ["scvU32", 1],
  });

  // What the chain emitted, indexed by the real pipeline, served by the real API.
  await ingestChain();
  const stream = await client.streams.retrieve(result.streamId);
  assert.deepEqual([stream.sender, stream.receiver, stream.totalAmount], [KEYPAIR.publicKey(), RECEIVER, 2n ** 100n]);
  assert.deepEqual([stream.startTime, stream.endTime, stream.memo], [result.startTime, result.endTime, "INV_2026_001"]);
  assert.equal(stream.createdTx, result.txHash);
  assert.equal(stream.createdLedger, result.ledger);
});

test("without a signer: the unsigned, prepared XDR and a SEP-7 URI", async () => {
  const { client } = makeClient();
  const before = (await submitted()).length;
  const prepared = await client.streams.create({
    receiver: RECEIVER,
    tokenAddress: TOKEN,
    amount: 1_000n,
    duration: 3_600,
    sender: KEYPAIR.publicKey(),
    memo: "abc",
  });
  assert.equal((await submitted()).length, before, "nothing was submitted");
  const tx = TransactionBuilder.fromXDR(prepared.xdr, PASSPHRASE) as Transaction;
  assert.equal(tx.signatures.length, 0);
  assert.equal(tx.hash().toString("hex"), prepared.txHash);
  assertPrepared(tx, (keypairSequence + 1n).toString());
  assert.equal(invocation(tx).fn, "create_stream");
  assert.deepEqual(streamArgs(invocation(tx).args[0]!).memo, ["scvSymbol", "abc"]);
  assert.deepEqual([prepared.source, prepared.fee, prepared.minResourceFee], [KEYPAIR.publicKey(), 90_453, 90_353]);
  assert.equal(prepared.simulatedReturnXdr, nativeToScVal(1n, { type: "u64" }).toXDR("base64")); // the next id
  assert.equal(prepared.endTime, (prepared.startTime ?? 0) + 3_600);

  const uri = sep7Params(prepared.sep7Uri);
  assert.equal(uri.get("xdr"), prepared.xdr);
  assert.equal(uri.get("pubkey"), KEYPAIR.publicKey());
  assert.equal(uri.get("network_passphrase"), PASSPHRASE);

  // A wallet signs it and submits it itself; the node accepts it.
  tx.sign(KEYPAIR);
  const sent = await control<{ status: string }>("send", { xdr: tx.toXDR() });
  assert.equal(sent.status, "PENDING");
  keypairSequence += 1n;

  const withdraw = await client.streams.withdraw(0, { source: RECEIVER });
  assert.equal(withdraw.source, RECEIVER);
  assert.equal(invocation(TransactionBuilder.fromXDR(withdraw.xdr, PASSPHRASE) as Transaction).fn, "withdraw");
  const byBeneficiary = await client.streams.withdraw({ streamId: 0, beneficiary: RECEIVER });
  assert.equal(byBeneficiary.source, RECEIVER);
});

test("defaults are Void and zero; the seed's names and the contract's are one argument", async () => {
  const { client } = makeClient();
  const result = await client.streams.create(
    { receiver: RECEIVER, token: TOKEN, totalAmount: 10n, startTime: 5_000, endTime: 6_000 },
    { signer: KEYPAIR },
  );
  keypairSequence += 1n;
  assert.deepEqual([result.startTime, result.endTime], [5_000, 6_000]);
  const args = streamArgs(invocation(await lastSubmitted()).args[0]!);
  for (const key of ["affiliate", "memo", "split_address", "vault_address"]) assert.deepEqual(args[key], ["scvVoid", null], key);
  for (const key of ["step_duration", "multiplier_bps"]) assert.deepEqual(args[key], ["scvI128", 0n], key);
  for (const key of ["penalty_bps", "cancellation_type", "yield_recipient", "split_bps", "curve_type"]) {
    assert.deepEqual(args[key], ["scvU32", 0], key);
  }
  assert.deepEqual(args.cycle_duration, ["scvU64", 0n]);
  assert.deepEqual(args.is_recurrent, ["scvBool", false]);
  assert.deepEqual(args.yield_enabled, ["scvBool", false]);
  assert.deepEqual(args.cliff_time, ["scvU64", 5_000n]);

  // the seed's vocabulary: amount, tokenAddress, duration, yieldEnabled
  const seed = await client.streams.create(
    { receiver: RECEIVER, amount: 42n, tokenAddress: TOKEN, startTime: 7_000, duration: 100, yieldEnabled: true },
    { source: KEYPAIR.publicKey() },
  );
  const contractNames = await client.streams.create(
    { receiver: RECEIVER, totalAmount: 42n, token: TOKEN, startTime: 7_000, endTime: 7_100, yieldEnabled: true },
    { source: KEYPAIR.publicKey() },
  );
  assert.deepEqual(
    streamArgs(invocation(TransactionBuilder.fromXDR(seed.xdr, PASSPHRASE) as Transaction).args[0]!),
    streamArgs(invocation(TransactionBuilder.fromXDR(contractNames.xdr, PASSPHRASE) as Transaction).args[0]!),
  );
  await assert.rejects(
    () => client.streams.create({ receiver: RECEIVER, amount: 1n, totalAmount: 2n, tokenAddress: TOKEN, duration: 60 }),
    /give one of amount and totalAmount/,
  );
  await assert.rejects(() => client.streams.create({ receiver: RECEIVER, amount: 1n, tokenAddress: TOKEN }), /exactly one of duration and endTime/);
  await assert.rejects(() => client.streams.create({ receiver: RECEIVER, amount: 1n, tokenAddress: RECEIVER, duration: 5 }), /tokenAddress must be/);
  await assert.rejects(
    () => client.streams.create({ receiver: RECEIVER, amount: 1n, tokenAddress: TOKEN, duration: 5, memo: "not a symbol!" }),
    /Soroban Symbol/,
  );
});

test("withdraw, cancel and top up with a Keypair", async () => {
  const { client } = makeClient();
  const close = world.closeTime;
  const created = await client.streams.create(
    { receiver: receiverKeypair.publicKey(), tokenAddress: TOKEN, amount: 1_000_000n, startTime: close - 100, endTime: close + 900 },
    { signer: KEYPAIR },
  );
  keypairSequence += 1n;
  const id = created.onChainId;
  const topped = await client.streams.topUp({ streamId: created.streamId, extraAmount: 500n }, { signer: KEYPAIR });
  keypairSequence += 1n;
  let tx = await lastSubmitted();
  const topUp = invocation(tx);
  assert.equal(topUp.fn, "top_up");
  assert.deepEqual(topUp.args.map(native), [["scvU64", BigInt(id)], ["scvAddress", KEYPAIR.publicKey()], ["scvI128", 500n]]);
  assertSignedBy(tx, KEYPAIR);
  assert.equal(topped.function, "top_up");

  const withdrawn = await client.streams.withdraw({ streamId: id }, { signer: receiverKeypair });
  assert.equal(typeof withdrawn.amount, "bigint");
  assert.ok(withdrawn.amount > 0n);
  tx = await lastSubmitted();
  assert.equal(invocation(tx).fn, "withdraw");
  assert.deepEqual(invocation(tx).args.map(native), [["scvU64", BigInt(id)], ["scvAddress", receiverKeypair.publicKey()]]);
  assertSignedBy(tx, receiverKeypair);
  assert.equal(tx.sequence, "10"); // the receiver's own account sequence + 1

  const canceled = await client.streams.cancel({ streamId: created.streamId }, { signer: KEYPAIR });
  keypairSequence += 1n;
  tx = await lastSubmitted();
  assert.deepEqual([invocation(tx).fn, ...invocation(tx).args.map(native)], ["cancel", ["scvU64", BigInt(id)], ["scvAddress", KEYPAIR.publicKey()]]);
  assert.equal(canceled.txHash, tx.hash().toString("hex"));

  await ingestChain();
  const history = await client.streams.retrieveHistory(created.streamId);
  assert.deepEqual(history.events.map((e) => e.type), ["create_v2", "top_up", "claim", "cancel"]);
  assert.equal(history.stream.status, StreamStatus.CANCELED);
  assert.ok(history.stream.withdrawnAmount >= withdrawn.amount);
});

test("a wallet signer callback (string or Stellar Wallets Kit's answer) and its checks", async () => {
  const { client } = makeClient();
  const seen: [string, string][] = [];
  const wallet = async (xdrText: string, passphrase: string): Promise<{ signedTxXdr: string; signerAddress: string }> => {
    seen.push([xdrText, passphrase]);
    const tx = TransactionBuilder.fromXDR(xdrText, passphrase) as Transaction;
    tx.sign(KEYPAIR);
    return { signedTxXdr: tx.toXDR(), signerAddress: KEYPAIR.publicKey() }; // Wallets Kit's shape
  };
  const result = await client.streams.create(
    { receiver: RECEIVER, tokenAddress: TOKEN, amount: 99n, duration: 60 },
    { signer: wallet, source: KEYPAIR.publicKey() },
  );
  keypairSequence += 1n;
  assert.equal(seen[0]?.[1], PASSPHRASE);
  const asked = TransactionBuilder.fromXDR(seen[0]![0], PASSPHRASE) as Transaction;
  assert.equal(asked.signatures.length, 0);
  assert.equal(asked.hash().toString("hex"), result.txHash);
  assertSignedBy(await lastSubmitted(), KEYPAIR);

  const plain = (xdrText: string, passphrase: string): string => {
    const tx = TransactionBuilder.fromXDR(xdrText, passphrase) as Transaction;
    tx.sign(KEYPAIR);
    return tx.toXDR();
  };
  const unsigned = (xdrText: string): string => xdrText;
  const swapped = (xdrText: string, passphrase: string): string => {
    const other = TransactionBuilder.fromXDR(xdrText, passphrase) as Transaction;
    const rebuilt = TransactionBuilder.cloneFrom(other, { fee: String(Number(other.fee) + 1), networkPassphrase: passphrase }).build();
    rebuilt.sign(KEYPAIR);
    return rebuilt.toXDR();
  };
  const sent = (await submitted()).length;
  const caller = { streamId: result.onChainId, caller: KEYPAIR.publicKey() };
  await assert.rejects(() => client.streams.cancel(caller, { signer: unsigned }), (e: unknown) => e instanceof SigningError && /without a signature/.test(e.message));
  await assert.rejects(() => client.streams.cancel(caller, { signer: swapped }), (e: unknown) => e instanceof SigningError && /different transaction/.test(e.message));
  assert.equal((await submitted()).length, sent, "nothing was submitted");
  const done = await client.streams.cancel(caller, { signer: plain });
  keypairSequence += 1n;
  assert.equal(done.function, "cancel");
});

test("simulation errors carry the contract's error code", async () => {
  const { client } = makeClient();
  const before = (await submitted()).length;
  await control("simulation-error", { number: 7 });
  const queued = await client.streams
    .create({ receiver: RECEIVER, tokenAddress: TOKEN, amount: 1n, duration: 60 }, { signer: KEYPAIR })
    .catch((e: unknown) => e);
  assert.ok(queued instanceof SimulationError);
  assert.deepEqual([queued.contractErrorCode, queued.code], [7, "contract_error_7"]);
  const missing = await client.streams.withdraw({ streamId: `${CONTRACT}-42`, beneficiary: RECEIVER }).catch((e: unknown) => e);
  assert.ok(missing instanceof SimulationError);
  assert.equal(missing.contractErrorCode, 2); // the fake contract's "not found"
  assert.ok(missing.diagnostic.includes("HostError"));
  assert.equal((await submitted()).length, before);
});

test("failed and rejected transactions carry their result codes", async () => {
  const { client, sleeps } = makeClient();
  const params = { receiver: RECEIVER, tokenAddress: TOKEN, amount: 1n, duration: 60 };
  await control("fail-next", {});
  const failed = await client.streams.create(params, { signer: KEYPAIR }).catch((e: unknown) => e);
  keypairSequence += 1n; // applied, failed in a ledger
  assert.ok(failed instanceof TransactionFailedError);
  assert.equal(failed.transactionCode, "txFAILED");
  assert.deepEqual(failed.operationCodes, ["INVOKE_HOST_FUNCTION_TRAPPED"]);
  assert.ok(failed.ledger !== null && failed.ledger > 1_001);
  assert.equal(failed.txHash, (await lastSubmitted()).hash().toString("hex"));

  await control("send-status", { status: "ERROR" }); // the recorded ERROR answer: txBAD_SEQ
  const rejected = await client.streams.create(params, { signer: KEYPAIR }).catch((e: unknown) => e);
  assert.ok(rejected instanceof TransactionFailedError);
  assert.equal(rejected.transactionCode, "txBAD_SEQ");
  assert.equal(rejected.ledger, null);

  await control("send-status", { status: "TRY_AGAIN_LATER" });
  await control("pending-polls", { n: 3 });
  const ok = await client.streams.create(params, { signer: KEYPAIR });
  keypairSequence += 1n;
  await control("pending-polls", { n: 1 });
  assert.ok(ok.onChainId > 0);
  assert.deepEqual(sleeps.delays.slice(-4), [1, 1, 1, 1]); // TRY_AGAIN_LATER, then 3 NOT_FOUND polls
});

test("a second signer is needed, and said", async () => {
  const { client } = makeClient();
  await assert.rejects(
    () => client.streams.create({ receiver: RECEIVER, tokenAddress: TOKEN, amount: 1n, duration: 60, sender: account(5) }, { signer: KEYPAIR }),
    (e: unknown) => e instanceof SigningError && e.message.includes(account(5)),
  );
  await assert.rejects(
    () => client.streams.create({ receiver: RECEIVER, tokenAddress: TOKEN, amount: 1n, duration: 60 }, { signer: KEYPAIR, source: RECEIVER }),
    /source must be the Keypair's account/,
  );
});

test("paying an invoice link completes it", async () => {
  const { client } = makeClient();
  await client.auth.login(receiverKeypair);
  const link = await client.invoiceLinks.create({
    receiver: receiverKeypair.publicKey(),
    amount: 10_000_000_000n,
    tokenAddress: TOKEN,
    duration: 2_592_000,
  });
  const paid: CreateStreamResult = await client.invoiceLinks.pay(link.slug, { signer: KEYPAIR });
  keypairSequence += 1n;
  const args = streamArgs(invocation(await lastSubmitted()).args[0]!);
  assert.deepEqual(args.memo, ["scvSymbol", link.slug]);
  assert.deepEqual(args.total_amount, ["scvI128", 10_000_000_000n]);
  await ingestChain();
  const done = await client.invoiceLinks.retrieve(link.slug);
  assert.equal(done.status, InvoiceLinkStatus.COMPLETED);
  assert.equal(done.streamId, paid.onChainId);
  assert.equal((await client.streams.retrieve(paid.streamId)).invoiceSlug, link.slug);
});

test("a prepared cancel, a wallet-signed withdraw, a cancel of a canceled stream", async () => {
  const { client } = makeClient();
  const close = world.closeTime;
  const created = await client.streams.create(
    { receiver: receiverKeypair.publicKey(), tokenAddress: TOKEN, amount: 10_000n, startTime: close - 10, endTime: close + 90, memo: "async_1" },
    { signer: KEYPAIR },
  );
  keypairSequence += 1n;
  assertSignedBy(await lastSubmitted(), KEYPAIR);
  assert.equal(streamArgs(invocation(await lastSubmitted()).args[0]!).memo?.[1], "async_1");
  const wallet = async (xdrText: string, passphrase: string): Promise<string> => {
    const tx = TransactionBuilder.fromXDR(xdrText, passphrase) as Transaction;
    tx.sign(receiverKeypair);
    return tx.toXDR();
  };
  const withdrawn = await client.streams.withdraw(created.streamId, { signer: wallet, source: receiverKeypair.publicKey() });
  assert.ok(withdrawn.amount > 0n);
  assertSignedBy(await lastSubmitted(), receiverKeypair);
  await client.streams.topUp({ streamId: created.streamId, extraAmount: 7n }, { signer: KEYPAIR });
  keypairSequence += 1n;
  assert.equal(invocation(await lastSubmitted()).fn, "top_up");
  const prepared: PreparedTransaction = await client.streams.cancel({ streamId: created.streamId, caller: KEYPAIR.publicKey() });
  assert.equal(sep7Params(prepared.sep7Uri).get("pubkey"), KEYPAIR.publicKey());
  await client.streams.cancel(created.streamId, { signer: KEYPAIR });
  keypairSequence += 1n;
  await assert.rejects(() => client.streams.cancel(created.streamId, { signer: KEYPAIR }), (e: unknown) => e instanceof SimulationError && e.contractErrorCode === 4);
  await ingestChain();
  const stream = await client.streams.retrieve(created.streamId);
  assert.equal(stream.status, StreamStatus.CANCELED);
  assert.equal(stream.memo, "async_1");
});

test("no secret ever leaves the process", async () => {
  const { client } = makeClient();
  const keypair = Keypair.fromRawEd25519Seed(Buffer.alloc(32, 77));
  await client.auth.login(keypair);
  await client.streams.create({ receiver: RECEIVER, tokenAddress: TOKEN, amount: 5n, duration: 60 }, { signer: keypair });
  const { calls } = await control<{ calls: unknown }>("calls");
  const sent = JSON.stringify(calls);
  assert.ok(sent.includes("sendTransaction"));
  assert.ok(!sent.includes(keypair.secret()));
  assert.ok(!JSON.stringify(client).includes(keypair.secret()));
  assert.ok(!JSON.stringify(client).includes(client.token as string));
});
