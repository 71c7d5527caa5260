/**
 * Streams: reads from the API, writes as contract calls on the chain (simulated on the Stellar
 * RPC node, signed here or by your wallet, submitted and awaited; the indexer then shows them).
 */
import { scValToNative } from "@stellar/stellar-sdk";
import { API_PREFIX } from "../core.js";
import { NotFoundError, NotIndexedError } from "../errors.js";
import { cancelCall, createStreamCall, topUpCall, withdrawCall, type Call, type StreamArgsValues } from "../contract/invocations.js";
import { isKeypair, type Landed } from "../contract/runner.js";
import type { NebulaClient } from "../client.js";
import type { CursorPage } from "../pagination.js";
import {
  SearchHitSpec,
  StreamEventSpec,
  StreamHistorySpec,
  StreamSpec,
  YieldDataSpec,
  YieldProjectionSpec,
  type CallOptions,
  type CancelStreamParams,
  type ContractCallResult,
  type CreateStreamParams,
  type CreateStreamResult,
  type ListStreamsParams,
  type PreparedTransaction,
  type SearchHit,
  type SignedCallOptions,
  type Signer,
  type Stream,
  type StreamEvent,
  type StreamHistory,
  type StreamRef,
  type TopUpParams,
  type UnsignedCallOptions,
  type WithdrawParams,
  type WithdrawResult,
  type YieldData,
  type YieldProjection,
} from "../types.js";
import { checkAddress, checkRange, checkUint, I128_MAX, I128_MIN, MEMO_PATTERN, pathSegment, splitStreamId, toBigInt, U32_MAX, U64_MAX } from "../utils.js";

/** `createStream(duration)` starts this long after the latest ledger's close time. */
export const START_BUFFER_SECONDS = 30;

function streamPath(streamId: string): string {
  if (typeof streamId !== "string" || !streamId) {
    throw new TypeError(`streamId must be a public stream id like 'C...-42', got ${JSON.stringify(streamId)}`);
  }
  return `${API_PREFIX}/streams/${pathSegment(streamId, "streamId")}`;
}

/** Who acts (sender, caller, beneficiary): given, else the signing account, else `source`. */
function actor(signer: Signer | undefined, source: string | undefined, given: string | null | undefined): string {
  const who = given ?? (isKeypair(signer) ? signer.publicKey() : undefined) ?? source;
  if (!who) throw new TypeError("say who acts: pass a Keypair signer, source, or the account argument");
  return checkAddress(who, "account");
}

/** The transaction's source account: the Keypair's, else `source`, else the actor. */
function txSource(signer: Signer | undefined, source: string | undefined, who: string): string {
  if (isKeypair(signer)) {
    if (source !== undefined && source !== signer.publicKey()) {
      throw new TypeError("source must be the Keypair's account (it signs the transaction)");
    }
    return signer.publicKey();
  }
  return checkAddress(source ?? who, "source", "G");
}

const optional = (value: string | null | undefined, field: string): string | null =>
  value === null || value === undefined ? null : checkAddress(value, field);

/** The checked `create_stream` arguments, seed names or contract names. */
export function resolveCreateParams(
  params: CreateStreamParams,
): Omit<StreamArgsValues, "sender" | "startTime" | "cliffTime" | "endTime"> & {
  sender: string | null;
  duration: number | null;
  startTime: number | null;
  cliffTime: number | null;
  endTime: number | null;
} {
  if (typeof params !== "object" || params === null) throw new TypeError("createStream needs its params object");
  const pick = <T>(seed: T | undefined, contract: T | undefined, names: string): T | undefined => {
    if (seed !== undefined && contract !== undefined && seed !== contract) {
      throw new TypeError(`give one of ${names} (they are the same argument)`);
    }
    return seed ?? contract;
  };
  const rawAmount = pick(
    params.amount === undefined ? undefined : toBigInt(params.amount, "amount"),
    params.totalAmount === undefined ? undefined : toBigInt(params.totalAmount, "totalAmount"),
    "amount and totalAmount",
  );
  if (rawAmount === undefined) throw new TypeError("createStream needs amount (base units)");
  const totalAmount = checkRange(rawAmount, 1n, I128_MAX, "amount");
  const token = pick(params.tokenAddress, params.token, "tokenAddress and token");
  if (token === undefined) throw new TypeError("createStream needs tokenAddress (the token contract, C...)");
  const u64 = (value: number | null | undefined, field: string): number | null =>
    value === null || value === undefined ? null : checkUint(value, U64_MAX, field);
  const duration = u64(params.duration, "duration");
  const startTime = u64(params.startTime, "startTime");
  const endTime = u64(params.endTime, "endTime");
  if ((duration === null) === (endTime === null)) throw new TypeError("give exactly one of duration and endTime");
  if (duration === 0) throw new RangeError("duration must be > 0");
  if (endTime !== null && startTime === null) throw new TypeError("endTime needs startTime (or give duration instead)");
  if (endTime !== null && startTime !== null && endTime <= startTime) throw new RangeError("endTime must be after startTime");
  const memo = params.memo ?? null;
  if (memo !== null && !MEMO_PATTERN.test(memo)) {
    throw new TypeError("memo must be 1-32 characters of [A-Za-z0-9_] (a Soroban Symbol)");
  }
  const i128 = (value: bigint | number | undefined, field: string): bigint =>
    value === undefined ? 0n : checkRange(toBigInt(value, field), I128_MIN, I128_MAX, field);
  const u32 = (value: number | undefined, field: string): number => (value === undefined ? 0 : checkUint(value, BigInt(U32_MAX), field));
  return {
    receiver: checkAddress(params.receiver, "receiver"),
    token: checkAddress(token, "tokenAddress", "C"),
    totalAmount,
    sender: optional(params.sender, "sender"),
    duration,
    startTime,
    cliffTime: u64(params.cliffTime, "cliffTime"),
    endTime,
    stepDuration: i128(params.stepDuration, "stepDuration"),
    multiplierBps: i128(params.multiplierBps, "multiplierBps"),
    penaltyBps: u32(params.penaltyBps, "penaltyBps"),
    vaultAddress: optional(params.vaultAddress, "vaultAddress"),
    yieldEnabled: params.yieldEnabled ?? false,
    isRecurrent: params.isRecurrent ?? false,
    cycleDuration: u64(params.cycleDuration, "cycleDuration") ?? 0,
    cancellationType: u32(params.cancellationType, "cancellationType"),
    affiliate: optional(params.affiliate, "affiliate"),
    memo,
    yieldRecipient: u32(params.yieldRecipient, "yieldRecipient"),
    splitBps: u32(params.splitBps, "splitBps"),
    curveType: u32(params.curveType, "curveType"),
    splitAddress: optional(params.splitAddress, "splitAddress"),
  };
}

function callResult(call: Call, landed: Landed): ContractCallResult {
  return {
    function: call.function,
    contractId: call.contractId,
    txHash: landed.txHash,
    ledger: landed.ledger,
    createdAt: landed.createdAt,
    returnValueXdr: landed.value === null ? null : landed.value.toXDR("base64"),
  };
}

/** Seconds `streams.waitFor` waits by default. */
export const WAIT_TIMEOUT = 60;

export interface WaitForOptions {
  /** Wait until the stream shows this ledger's change (`updatedLedger >= ledger`), e.g. a call result's `ledger`. */
  ledger?: number | null;
  /** Seconds before {@link NotIndexedError} (default 60). */
  timeout?: number;
}

const monotonic = (): number => (globalThis.performance ? globalThis.performance.now() : Date.now()) / 1000;

const refOf = (params: StreamRef | { streamId: StreamRef }): StreamRef =>
  typeof params === "object" && params !== null ? params.streamId : params;

export class Streams {
  constructor(private readonly client: NebulaClient) {}

  // --- reads (API) ---

  /** Streams, filtered, newest first by default; `for await` the page to walk all pages. */
  async list(params: ListStreamsParams = {}): Promise<CursorPage<Stream>> {
    const { sender, receiver, address, direction, status, token, contract, sort, limit, cursor } = params;
    return this.client.list<Stream>(`${API_PREFIX}/streams`, StreamSpec, {
      sender,
      receiver,
      address,
      direction,
      status,
      token,
      contract,
      sort,
      limit,
      cursor,
    });
  }

  /** One stream by public id (`"C...-42"`), amounts computed now. */
  async retrieve(streamId: string): Promise<Stream> {
    return this.client.request<Stream>({ method: "GET", path: streamPath(streamId) }, StreamSpec);
  }

  /**
   * The stream once the API shows it (and, with `ledger`, its change in that ledger). A contract
   * call's result has the `streamId` and `ledger` to pass; the indexer usually shows them within
   * seconds. Polls `retrieve` every `pollInterval` seconds (a 404 means not yet); throws
   * {@link NotIndexedError} after `timeout` seconds.
   */
  async waitFor(streamId: string, options: WaitForOptions = {}): Promise<Stream> {
    const ledger = options.ledger ?? null;
    const timeout = options.timeout ?? WAIT_TIMEOUT;
    if (ledger !== null && (!Number.isSafeInteger(ledger) || ledger < 0)) {
      throw new RangeError(`ledger must be an integer >= 0, got ${String(ledger)}`);
    }
    if (typeof timeout !== "number" || !(timeout >= 0)) throw new RangeError(`timeout must be seconds >= 0, got ${String(timeout)}`);
    streamPath(streamId); // a bad id fails at once, not after the timeout
    const deadline = monotonic() + timeout;
    for (;;) {
      try {
        const stream = await this.retrieve(streamId);
        if (ledger === null || stream.updatedLedger >= ledger) return stream;
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
      if (monotonic() >= deadline) {
        const at = ledger === null ? "" : ` at ledger ${ledger} or later`;
        throw new NotIndexedError(
          `stream ${streamId} not shown by the API${at} after ${timeout} s: the indexer is behind or stopped (see syncStatus)`,
          { streamId, ledger, timeout },
        );
      }
      await this.client.sleep(this.client.pollInterval);
    }
  }

  /** The stream's contract events in chain order. */
  async listEvents(streamId: string, params: { limit?: number; cursor?: string } = {}): Promise<CursorPage<StreamEvent>> {
    return this.client.list<StreamEvent>(`${streamPath(streamId)}/events`, StreamEventSpec, { ...params });
  }

  /** The stream and all its events in one call. */
  async retrieveHistory(streamId: string): Promise<StreamHistory> {
    return this.client.request<StreamHistory>({ method: "GET", path: `${streamPath(streamId)}/history` }, StreamHistorySpec);
  }

  /** The stream's yield estimate now. */
  async retrieveYield(streamId: string): Promise<YieldData> {
    return this.client.request<YieldData>({ method: "GET", path: `${streamPath(streamId)}/yield` }, YieldDataSpec);
  }

  /** Projected yield over the next `days` days (1..3650). */
  async projectYield(streamId: string, days: number): Promise<YieldProjection> {
    return this.client.request<YieldProjection>(
      { method: "GET", path: `${streamPath(streamId)}/yield/projection`, query: { days } },
      YieldProjectionSpec,
    );
  }

  /** Find streams by id, tx hash, address (or a 5+ character prefix) or token. */
  async search(q: string, params: { limit?: number; cursor?: string } = {}): Promise<CursorPage<SearchHit>> {
    return this.client.list<SearchHit>(`${API_PREFIX}/search`, SearchHitSpec, { q, ...params });
  }

  /** Accounting export: one CSV row per event of the address's streams. */
  async exportCsv(address: string): Promise<string> {
    checkAddress(address, "address");
    return this.client.requestText({ method: "GET", path: `${API_PREFIX}/streams/export.csv`, query: { address } });
  }

  // --- writes (contract calls) ---

  /**
   * Create a stream on-chain (`create_stream(StreamArgs)`). With `duration`, the stream starts
   * shortly after the latest ledger's close time. With a `signer` this waits until the
   * transaction is in a ledger and returns the new stream's id; without one it returns the
   * prepared transaction (XDR and SEP-7 URI) for a wallet to sign and submit.
   */
  create(params: CreateStreamParams, options: SignedCallOptions): Promise<CreateStreamResult>;
  create(params: CreateStreamParams, options?: UnsignedCallOptions): Promise<PreparedTransaction>;
  create(params: CreateStreamParams, options?: CallOptions): Promise<CreateStreamResult | PreparedTransaction>;
  async create(params: CreateStreamParams, options: CallOptions = {}): Promise<CreateStreamResult | PreparedTransaction> {
    const args = resolveCreateParams(params);
    const runner = this.client.contractRunner();
    const contract = options.contractId ? checkAddress(options.contractId, "contractId", "C") : this.client.requireContractId();
    const sender = actor(options.signer, options.source, args.sender);
    const source = txSource(options.signer, options.source, sender);
    let startTime = args.startTime;
    if (startTime === null) startTime = (await runner.rpc.latestLedger()).closeTime + START_BUFFER_SECONDS;
    const endTime = args.endTime ?? startTime + (args.duration ?? 0);
    const cliffTime = args.cliffTime ?? startTime;
    const call = createStreamCall(contract, { ...args, sender, startTime, cliffTime, endTime });
    const prepared = await runner.prepare(call, source);
    if (!options.signer) return runner.unsigned(prepared, call, { startTime, endTime });
    const landed = await runner.submit(await runner.sign(prepared, options.signer));
    if (landed.value === null) throw new TypeError("create_stream landed but returned no stream id");
    const onChainId = Number(scValToNative(landed.value) as bigint);
    return { ...callResult(call, landed), streamId: `${contract}-${onChainId}`, onChainId, startTime, endTime };
  }

  /** Withdraw everything withdrawable to `beneficiary` (default: the signing account). */
  withdraw(params: WithdrawParams | StreamRef, options: SignedCallOptions): Promise<WithdrawResult>;
  withdraw(params: WithdrawParams | StreamRef, options?: UnsignedCallOptions): Promise<PreparedTransaction>;
  withdraw(params: WithdrawParams | StreamRef, options?: CallOptions): Promise<WithdrawResult | PreparedTransaction>;
  async withdraw(params: WithdrawParams | StreamRef, options: CallOptions = {}): Promise<WithdrawResult | PreparedTransaction> {
    const given = typeof params === "object" ? params.beneficiary : undefined;
    const [contract, onChain] = splitStreamId(refOf(params), this.client.contractId);
    const who = actor(options.signer, options.source, given);
    const call = withdrawCall(contract, onChain, who);
    const runner = this.client.contractRunner();
    const prepared = await runner.prepare(call, txSource(options.signer, options.source, who));
    if (!options.signer) return runner.unsigned(prepared, call, { startTime: null, endTime: null });
    const landed = await runner.submit(await runner.sign(prepared, options.signer));
    const amount = landed.value === null ? 0n : BigInt(scValToNative(landed.value) as bigint);
    return { ...callResult(call, landed), amount };
  }

  /** Cancel: the receiver gets what it earned (plus any penalty), the sender the rest. */
  cancel(params: CancelStreamParams | StreamRef, options: SignedCallOptions): Promise<ContractCallResult>;
  cancel(params: CancelStreamParams | StreamRef, options?: UnsignedCallOptions): Promise<PreparedTransaction>;
  cancel(params: CancelStreamParams | StreamRef, options?: CallOptions): Promise<ContractCallResult | PreparedTransaction>;
  async cancel(params: CancelStreamParams | StreamRef, options: CallOptions = {}): Promise<ContractCallResult | PreparedTransaction> {
    const given = typeof params === "object" ? params.caller : undefined;
    const [contract, onChain] = splitStreamId(refOf(params), this.client.contractId);
    const who = actor(options.signer, options.source, given);
    const call = cancelCall(contract, onChain, who);
    const runner = this.client.contractRunner();
    const prepared = await runner.prepare(call, txSource(options.signer, options.source, who));
    if (!options.signer) return runner.unsigned(prepared, call, { startTime: null, endTime: null });
    return callResult(call, await runner.submit(await runner.sign(prepared, options.signer)));
  }

  /** Add `extraAmount` base units to a stream (the contract extends its end). */
  topUp(params: TopUpParams, options: SignedCallOptions): Promise<ContractCallResult>;
  topUp(params: TopUpParams, options?: UnsignedCallOptions): Promise<PreparedTransaction>;
  topUp(params: TopUpParams, options?: CallOptions): Promise<ContractCallResult | PreparedTransaction>;
  async topUp(params: TopUpParams, options: CallOptions = {}): Promise<ContractCallResult | PreparedTransaction> {
    const [contract, onChain] = splitStreamId(params.streamId, this.client.contractId);
    const extra = checkRange(toBigInt(params.extraAmount, "extraAmount"), 1n, I128_MAX, "extraAmount");
    const who = actor(options.signer, options.source, params.sender);
    const call = topUpCall(contract, onChain, who, extra);
    const runner = this.client.contractRunner();
    const prepared = await runner.prepare(call, txSource(options.signer, options.source, who));
    if (!options.signer) return runner.unsigned(prepared, call, { startTime: null, endTime: null });
    return callResult(call, await runner.submit(await runner.sign(prepared, options.signer)));
  }
}
