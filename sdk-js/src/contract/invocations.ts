/**
 * Pure (no I/O) pieces of a contract call: arguments, transaction, assembly, results, SEP-7.
 *
 * `StreamArgs` is a `#[contracttype]` struct: an `SCV_MAP` with `Symbol` keys sorted by name;
 * `Option::None` is `SCV_VOID`; `i128`/`u64`/`u32`/`bool`/`Address` map to their `ScVal` types.
 * Everything is built with `@stellar/stellar-sdk`, never by hand.
 */
import {
  Account,
  Address,
  Contract,
  FeeBumpTransaction,
  Keypair,
  nativeToScVal,
  rpc,
  Transaction,
  TransactionBuilder,
  authorizeEntry,
  xdr,
} from "@stellar/stellar-sdk";
import { SigningError, SimulationError, TransactionFailedError } from "../errors.js";

/** Every `StreamArgs` key, sorted (the order Soroban requires in the map). */
export const STREAM_ARGS_KEYS = [
  "affiliate",
  "cancellation_type",
  "cliff_time",
  "curve_type",
  "cycle_duration",
  "end_time",
  "is_recurrent",
  "memo",
  "multiplier_bps",
  "penalty_bps",
  "receiver",
  "sender",
  "split_address",
  "split_bps",
  "start_time",
  "step_duration",
  "token",
  "total_amount",
  "vault_address",
  "yield_enabled",
  "yield_recipient",
] as const;

/** How long a signed authorization entry stays valid (~8 minutes of ledgers). */
export const AUTH_VALIDITY_LEDGERS = 100;

/** One contract function call: what to invoke, with which arguments. */
export interface Call {
  contractId: string;
  function: string;
  args: xdr.ScVal[];
}

/** `StreamArgs` values, already checked (see `streams.create`). */
export interface StreamArgsValues {
  sender: string;
  receiver: string;
  token: string;
  totalAmount: bigint;
  startTime: number;
  cliffTime: number;
  endTime: number;
  stepDuration: bigint;
  multiplierBps: bigint;
  penaltyBps: number;
  vaultAddress: string | null;
  yieldEnabled: boolean;
  isRecurrent: boolean;
  cycleDuration: number;
  cancellationType: number;
  affiliate: string | null;
  memo: string | null;
  yieldRecipient: number;
  splitBps: number;
  curveType: number;
  splitAddress: string | null;
}

const address = (value: string): xdr.ScVal => new Address(value).toScVal();
const optionalAddress = (value: string | null): xdr.ScVal => (value === null ? xdr.ScVal.scvVoid() : address(value));
const u64 = (value: number | bigint): xdr.ScVal => nativeToScVal(BigInt(value), { type: "u64" });
const i128 = (value: bigint): xdr.ScVal => nativeToScVal(value, { type: "i128" });
const u32 = (value: number): xdr.ScVal => xdr.ScVal.scvU32(value);

/** The `StreamArgs` struct: all keys, Void for `null`, sorted by name. */
export function streamArgs(v: StreamArgsValues): xdr.ScVal {
  const fields: Record<(typeof STREAM_ARGS_KEYS)[number], xdr.ScVal> = {
    sender: address(v.sender),
    receiver: address(v.receiver),
    token: address(v.token),
    total_amount: i128(v.totalAmount),
    start_time: u64(v.startTime),
    cliff_time: u64(v.cliffTime),
    end_time: u64(v.endTime),
    step_duration: i128(v.stepDuration),
    multiplier_bps: i128(v.multiplierBps),
    penalty_bps: u32(v.penaltyBps),
    vault_address: optionalAddress(v.vaultAddress),
    yield_enabled: xdr.ScVal.scvBool(v.yieldEnabled),
    is_recurrent: xdr.ScVal.scvBool(v.isRecurrent),
    cycle_duration: u64(v.cycleDuration),
    cancellation_type: u32(v.cancellationType),
    affiliate: optionalAddress(v.affiliate),
    memo: v.memo === null ? xdr.ScVal.scvVoid() : xdr.ScVal.scvSymbol(v.memo),
    yield_recipient: u32(v.yieldRecipient),
    split_bps: u32(v.splitBps),
    curve_type: u32(v.curveType),
    split_address: optionalAddress(v.splitAddress),
  };
  const keys = Object.keys(fields).sort();
  return xdr.ScVal.scvMap(keys.map((key) => new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol(key), val: fields[key as keyof typeof fields] })));
}

export function createStreamCall(contractId: string, values: StreamArgsValues): Call {
  return { contractId, function: "create_stream", args: [streamArgs(values)] };
}

export function withdrawCall(contractId: string, streamId: number, beneficiary: string): Call {
  return { contractId, function: "withdraw", args: [u64(streamId), address(beneficiary)] };
}

export function cancelCall(contractId: string, streamId: number, caller: string): Call {
  return { contractId, function: "cancel", args: [u64(streamId), address(caller)] };
}

export function topUpCall(contractId: string, streamId: number, sender: string, extraAmount: bigint): Call {
  return { contractId, function: "top_up", args: [u64(streamId), address(sender), i128(extraAmount)] };
}

/** The unsigned, unsimulated transaction: one InvokeHostFunction, no memo. */
export function buildTransaction(
  call: Call,
  options: { source: string; sequence: string; networkPassphrase: string; baseFee: number; timeoutSeconds?: number },
): Transaction {
  // Account takes the current sequence; the builder uses sequence + 1.
  const account = new Account(options.source, (BigInt(options.sequence) - 1n).toString());
  return new TransactionBuilder(account, { fee: String(options.baseFee), networkPassphrase: options.networkPassphrase })
    .addOperation(new Contract(call.contractId).call(call.function, ...call.args))
    .setTimeout(options.timeoutSeconds ?? 300)
    .build();
}

const CONTRACT_ERROR = /Error\(Contract, #(\d+)\)/;

export function simulationFailure(error: string): SimulationError {
  const match = CONTRACT_ERROR.exec(error);
  const code = match ? Number(match[1]) : null;
  const first = error.trim() ? (error.trim().split("\n")[0] as string) : "simulation failed";
  let message = `contract call fails in simulation: ${first}`;
  if (code !== null) message += ` (contract error #${code})`;
  return new SimulationError(message, { contractErrorCode: code, diagnostic: error });
}

/** The raw `simulateTransaction` answer. */
export type RawSimulation = rpc.Api.RawSimulateTransactionResponse & Record<string, unknown>;

/** Apply a simulation to the transaction: footprint and resources, resource fee, auth. */
export function assemble(tx: Transaction, simulation: RawSimulation): Transaction {
  if (simulation.error) throw simulationFailure(String(simulation.error));
  if (simulation.restorePreamble) {
    throw new SimulationError("the call touches archived ledger entries: restore them first (RestoreFootprint)");
  }
  if (!simulation.results || simulation.results.length !== 1 || !simulation.transactionData) {
    throw new SimulationError("the simulation returned no result for the invocation");
  }
  return rpc.assembleTransaction(tx, simulation).build();
}

export function simulatedReturn(simulation: RawSimulation): string | null {
  const first = simulation.results?.[0];
  return first?.xdr ? String(first.xdr) : null;
}

/** A narrow view of the invocation operation (the SDK's own type is a wide union). */
interface InvokeOpLike {
  type: string;
  auth?: xdr.SorobanAuthorizationEntry[];
}

function invokeOp(tx: Transaction): InvokeOpLike {
  const op = tx.operations[0] as InvokeOpLike | undefined;
  if (!op || op.type !== "invokeHostFunction") throw new SigningError("not a contract invocation");
  return op;
}

/** Authorization entries that need an address's own signature (not the source account's). */
export function addressCredentials(tx: Transaction): { index: number; entry: xdr.SorobanAuthorizationEntry; who: string }[] {
  const found: { index: number; entry: xdr.SorobanAuthorizationEntry; who: string }[] = [];
  (invokeOp(tx).auth ?? []).forEach((entry, index) => {
    const credentials = entry.credentials();
    if (credentials.switch().value === xdr.SorobanCredentialsType.sorobanCredentialsSourceAccount().value) return;
    const who = Address.fromScAddress(credentials.address().address()).toString();
    found.push({ index, entry, who });
  });
  return found;
}

/**
 * Sign the auth entries of `keypair`'s address; refuse if other addresses need signing.
 * Returns the transaction rebuilt with the signed entries (or the same one if none needed it).
 */
export async function signAddressAuth(
  tx: Transaction,
  keypair: Keypair | null,
  options: { latestLedger: number; networkPassphrase: string },
): Promise<Transaction> {
  const needed = addressCredentials(tx);
  if (needed.length === 0) return tx;
  const envelope = tx.toEnvelope();
  const op = envelope.v1().tx().operations()[0] as xdr.Operation;
  const body = op.body().invokeHostFunctionOp();
  const auth = body.auth();
  for (const { index, entry, who } of needed) {
    if (keypair === null || who !== keypair.publicKey()) {
      throw new SigningError(
        `this call also needs an authorization signed by ${who}: submit it from that account (make it the source) or sign the entry with its key`,
      );
    }
    auth[index] = await authorizeEntry(entry, keypair, options.latestLedger + AUTH_VALIDITY_LEDGERS, options.networkPassphrase);
  }
  body.auth(auth);
  return new Transaction(envelope, options.networkPassphrase);
}

/** The wallet's answer must be *this* transaction, signed. */
export function verifyWalletSignature(prepared: Transaction, signedXdr: string, networkPassphrase: string): Transaction {
  let signed: Transaction | FeeBumpTransaction;
  try {
    signed = TransactionBuilder.fromXDR(signedXdr, networkPassphrase);
  } catch (error) {
    throw new SigningError(`the signer returned something that is not a transaction: ${String(error)}`);
  }
  if (!(signed instanceof Transaction) || signed.hash().toString("hex") !== prepared.hash().toString("hex")) {
    throw new SigningError("the signer returned a different transaction than it was asked to sign");
  }
  if (signed.signatures.length === 0) {
    throw new SigningError("the signer returned the transaction without a signature");
  }
  return signed;
}

/** A SEP-7 `web+stellar:tx?xdr=...` request for a wallet to sign and submit. */
export function sep7Uri(tx: Transaction, networkPassphrase: string, pubkey: string, msg: string): string {
  const params = [
    ["xdr", tx.toXDR()],
    ["pubkey", pubkey],
    ["msg", msg.slice(0, 300)],
    ["network_passphrase", networkPassphrase],
  ];
  return `web+stellar:tx?${params.map(([k, v]) => `${k}=${encodeURIComponent(v as string)}`).join("&")}`;
}

/** The invocation's return value from a SUCCESS `getTransaction` (meta v3 or v4). */
export function returnValue(getTransaction: Record<string, unknown>): xdr.ScVal | null {
  const metaXdr = getTransaction.resultMetaXdr;
  if (typeof metaXdr !== "string" || !metaXdr) return null;
  const meta = xdr.TransactionMeta.fromXDR(metaXdr, "base64");
  const version = meta.switch();
  if (version === 4) return meta.v4().sorobanMeta()?.returnValue() ?? null;
  if (version === 3) return meta.v3().sorobanMeta()?.returnValue() ?? null;
  return null;
}

/** `txBadSeq` -> `txBAD_SEQ`, `invokeHostFunctionTrapped` -> `INVOKE_HOST_FUNCTION_TRAPPED`. */
export function specName(jsName: string): string {
  const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
  return jsName.startsWith("tx") ? `tx${snake(jsName.slice(2))}` : snake(jsName);
}

function opCode(result: xdr.OperationResult): string {
  if (result.switch().name !== "opInner") return specName(result.switch().name);
  const tr = result.tr();
  const inner = tr.value() as { switch?: () => { name: string } };
  return inner && typeof inner.switch === "function" ? specName(inner.switch().name) : specName(tr.switch().name);
}

/** A {@link TransactionFailedError} carrying the result codes of `resultXdr`. */
export function failure(
  resultXdr: unknown,
  options: { txHash: string | null; ledger: number | null; what: string },
): TransactionFailedError {
  let txCode: string | null = null;
  let opCodes: string[] = [];
  if (typeof resultXdr === "string" && resultXdr) {
    const result = xdr.TransactionResult.fromXDR(resultXdr, "base64").result();
    const name = result.switch().name;
    txCode = specName(name);
    if (name === "txFeeBumpInnerSuccess" || name === "txFeeBumpInnerFailed") {
      const inner = result.innerResultPair().result().result();
      txCode = specName(inner.switch().name);
      opCodes = ((inner.results() as xdr.OperationResult[] | undefined) ?? []).map(opCode);
    } else if (name === "txSuccess" || name === "txFailed") {
      opCodes = ((result.results() as xdr.OperationResult[] | undefined) ?? []).map(opCode);
    }
  }
  let detail = txCode ?? "unknown result";
  if (opCodes.length) detail += ` [${opCodes.join(", ")}]`;
  return new TransactionFailedError(`${options.what}: ${detail}`, {
    txHash: options.txHash,
    transactionCode: txCode,
    operationCodes: opCodes,
    ledger: options.ledger,
  });
}
