/**
 * What the TS tests share: the world the pytest harness started (`NEBULA_TEST`), deterministic
 * accounts (the same seeds as `tests/support/contract_events.py`), the control server, and XDR
 * decoding of what the fake RPC node received.
 */
import assert from "node:assert/strict";
import { Address, Keypair, StrKey, Transaction, TransactionBuilder, scValToNative, xdr } from "@stellar/stellar-sdk";
import { NebulaClient, type NebulaClientOptions } from "../src/index.js";

export interface World {
  apiUrl: string;
  rpcUrl: string;
  controlUrl: string;
  contract: string;
  token: string;
  now: number;
  closeTime: number;
  big: string;
  database: string;
}

const raw = process.env.NEBULA_TEST;
if (!raw) throw new Error("NEBULA_TEST is not set: run these tests through tests/sdk_js/test_sdk_js.py (pytest)");
export const world: World = JSON.parse(raw) as World;

export const PASSPHRASE = "Test SDF Network ; September 2015";
export const CONTRACT = world.contract;
export const TOKEN = world.token;
export const NOW = world.now;
export const BIG = BigInt(world.big);

/** `ce.account(n)`: the account of seed `bytes([n]) * 32`. */
export const keypairOf = (n: number): Keypair => Keypair.fromRawEd25519Seed(Buffer.alloc(32, n));
export const account = (n: number): string => keypairOf(n).publicKey();
/** `ce.contract(n)`. */
export const contractAddress = (n: number): string => StrKey.encodeContract(Buffer.alloc(32, n));

/** The funded payer (sequence 4_000_000_000 on the fake node). */
export const KEYPAIR = keypairOf(77);
export const SENDER = account(1);
export const RECEIVER = account(2);
export const OTHER = account(3);

/** Sleeps recorded, none waited. */
export class Sleeps {
  delays: number[] = [];
  readonly sleep = async (seconds: number): Promise<void> => {
    this.delays.push(seconds);
  };
}

export function makeClient(options: NebulaClientOptions = {}): { client: NebulaClient; sleeps: Sleeps } {
  const sleeps = new Sleeps();
  const client = new NebulaClient(world.apiUrl, {
    rpcUrl: world.rpcUrl,
    contractId: CONTRACT,
    timeout: 10,
    pollInterval: 1,
    sleep: sleeps.sleep,
    ...options,
  });
  return { client, sleeps };
}

// --- the control server (the Python side) ---

export async function control<T = Record<string, unknown>>(action: string, body?: unknown): Promise<T> {
  const response = await fetch(`${world.controlUrl}/${action}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = (await response.json()) as T;
  assert.equal(response.status, 200, `control ${action}: ${JSON.stringify(data)}`);
  return data;
}

/** What the indexer would do: ingest the fake chain's events into the backend. */
export const ingestChain = (): Promise<unknown> => control("ingest", {});

/** The envelopes the fake node received with `sendTransaction`, decoded. */
export async function submitted(): Promise<Transaction[]> {
  const { xdrs } = await control<{ xdrs: string[] }>("submitted");
  return xdrs.map((x) => TransactionBuilder.fromXDR(x, PASSPHRASE) as Transaction);
}

export async function lastSubmitted(): Promise<Transaction> {
  const all = await submitted();
  const last = all[all.length - 1];
  assert.ok(last, "nothing was submitted");
  return last;
}

// --- decoding ---

export function invocation(tx: Transaction): { contract: string; fn: string; args: xdr.ScVal[] } {
  assert.equal(tx.operations.length, 1);
  const op = tx.toEnvelope().v1().tx().operations()[0] as xdr.Operation;
  const invoke = op.body().invokeHostFunctionOp().hostFunction().invokeContract();
  return {
    contract: Address.fromScAddress(invoke.contractAddress()).toString(),
    fn: invoke.functionName().toString(),
    args: invoke.args(),
  };
}

/** `[ScVal type name, native value]`, e.g. `["scvU64", 5n]`, `["scvAddress", "G..."]`. */
export function native(value: xdr.ScVal): [string, unknown] {
  const type = value.switch().name;
  if (type === "scvVoid") return [type, null];
  if (type === "scvSymbol") return [type, value.sym().toString()];
  return [type, scValToNative(value) as unknown];
}

export function streamArgs(value: xdr.ScVal): Record<string, [string, unknown]> {
  assert.equal(value.switch().name, "scvMap");
  const entries = value.map() ?? [];
  const keys = entries.map((e) => e.key().sym().toString());
  assert.deepEqual(keys, [...keys].sort(), "StreamArgs keys sorted");
  return Object.fromEntries(entries.map((e) => [e.key().sym().toString(), native(e.val())]));
}

export function assertSignedBy(tx: Transaction, keypair: Keypair): void {
  assert.equal(tx.source, keypair.publicKey());
  assert.equal(tx.signatures.length, 1);
  const signature = tx.signatures[0] as xdr.DecoratedSignature;
  assert.deepEqual(Buffer.from(signature.hint()), Buffer.from(keypair.signatureHint()));
  assert.ok(Keypair.fromPublicKey(keypair.publicKey()).verify(tx.hash(), signature.signature()));
}

export function assertPrepared(tx: Transaction, sequence: string): void {
  assert.equal(tx.sequence, sequence);
  assert.equal(tx.memo.type, "none", "the memo lives in StreamArgs");
  const data = tx.toEnvelope().v1().tx().ext().sorobanData();
  assert.equal(data.resourceFee().toString(), "90353");
  assert.equal(tx.fee, String(100 + 90_353), "inclusion fee + simulated resource fee");
  const op = tx.operations[0] as { auth?: unknown[] };
  assert.equal(op.auth?.length, 1, "auth from the simulation");
}
