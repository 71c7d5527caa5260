/**
 * The SDK's types: the seed's (`Stream`, `StreamStatus`, `StreamEvent`, `StreamHistory`,
 * `YieldData`, `CreateStreamParams`, `WithdrawParams`, `CancelStreamParams`) and the rest of the
 * API's. Field names are the API's (camelCase); amounts are token base units as `bigint`
 * (decimal strings on the wire); times are Unix seconds, or `Date` for the API's ISO date-times.
 */
import type { Keypair } from "@stellar/stellar-sdk";
import { f, spec } from "./schema.js";

/** A stream's status, computed by the API at `asOf`. */
export const StreamStatus = {
  ACTIVE: "ACTIVE",
  PAUSED: "PAUSED",
  COMPLETED: "COMPLETED",
  CANCELED: "CANCELED",
  ARCHIVED: "ARCHIVED",
} as const;
export type StreamStatus = (typeof StreamStatus)[keyof typeof StreamStatus];

/** An invoice link's lifecycle. */
export const InvoiceLinkStatus = {
  DRAFT: "DRAFT",
  SIGNED: "SIGNED",
  COMPLETED: "COMPLETED",
  EXPIRED: "EXPIRED",
  CANCELED: "CANCELED",
} as const;
export type InvoiceLinkStatus = (typeof InvoiceLinkStatus)[keyof typeof InvoiceLinkStatus];

/**
 * What people read a token's amounts by: from the server operator's settings, else what the
 * token contract says of itself (SEP-41), else nothing known (`symbol` null). `tokenLabel(info)`
 * and `tokenUnits(info, amount)` format with it.
 */
export interface TokenInfo {
  /** The token contract (C...). */
  address: string;
  /** e.g. `USDC`; null while unknown. */
  symbol: string | null;
  /** e.g. `USDC:G...` for a classic asset's contract. */
  name: string | null;
  /** Base units per token: `10 ** decimals`. */
  decimals: number;
  /** A classic asset's issuer home domain, when known. */
  homeDomain: string | null;
}

/** A payment stream as the API serves it. */
export interface Stream {
  /** Public id: `"<contract id>-<on-chain stream id>"`. */
  id: string;
  contract: string;
  /** The contract's own (on-chain) id. */
  streamId: number;
  version: number;
  sender: string;
  receiver: string;
  /** Who withdraws (the receiver unless transferred). */
  beneficiary: string;
  token: string;
  /** The token's symbol, name and decimals (absent from a server that does not send it). */
  tokenInfo?: TokenInfo;
  totalAmount: bigint;
  withdrawnAmount: bigint;
  startTime: number;
  cliffTime: number;
  endTime: number;
  status: StreamStatus;
  /** Unlocked so far, at `asOf`. */
  streamedAmount: bigint;
  withdrawableAmount: bigint;
  refundableAmount: bigint;
  canceledAt: number | null;
  cancelToReceiver: bigint | null;
  cancelToSender: bigint | null;
  archivedAt: number | null;
  yieldEnabled: boolean;
  memo: string | null;
  /** The invoice link this stream paid, if any. */
  invoiceSlug: string | null;
  createdLedger: number;
  createdTx: string;
  createdAt: number;
  updatedLedger: number;
  /** The time (Unix seconds) the computed amounts and status use. */
  asOf: number;
}

/** One contract event of a stream, in chain order. */
export interface StreamEvent {
  /** `create_v2`, `claim`, `cancel`, `top_up`... */
  type: string;
  ledger: number;
  ledgerClosedAt: Date;
  txHash: string;
  txIndex: number;
  opIndex: number;
  eventIndex: number;
  /** The event's fields as decoded by the indexer (amounts as decimal strings). */
  decoded: Record<string, unknown>;
}

/** A stream and all its events. */
export interface StreamHistory {
  stream: Stream;
  events: StreamEvent[];
}

/** Yield estimate of a stream (zeros and `yieldEnabled: false` when it earns none). */
export interface YieldData {
  stream: string;
  yieldEnabled: boolean;
  estimate: boolean;
  vault: string | null;
  apyBps: number;
  rateSource: string;
  principalLocked: bigint;
  accruedEstimate: bigint;
  recipient: string | null;
  asOf: number;
}

/** Projected yield over the next `days` days (an estimate). */
export interface YieldProjection extends YieldData {
  days: number;
  projectedYieldEstimate: bigint;
  projectedTotalEstimate: bigint;
}

export interface TokenStats {
  token: string;
  streams: number;
  valueLocked: bigint;
  totalVolume: bigint;
}

/** Protocol-wide counts, value locked and volume per token, and indexer freshness. */
export interface Stats {
  total: number;
  active: number;
  completed: number;
  canceled: number;
  paused: number;
  archived: number;
  uniqueSenders: number;
  uniqueReceivers: number;
  tokens: TokenStats[];
  indexerLatestLedger: number | null;
  networkLatestLedger: number | null;
  lagLedgers: number | null;
  asOf: number;
}

export interface ContractSync {
  contract: string;
  lastIngestedLedger: number | null;
  networkLatestLedger: number | null;
  lagLedgers: number | null;
  lagSeconds: number | null;
  updatedAt: Date | null;
  gaps: number[][];
}

export interface SyncStatus {
  contracts: ContractSync[];
}

/**
 * A stream that matched a search: every {@link Stream} field, plus how it matched. The API sends
 * `{match, stream}`; the SDK flattens it, so a hit is used like any stream (`hit.id`,
 * `hit.status`); `hit.stream` is the stream alone (not enumerable: JSON and spreads of a hit are
 * the flat stream plus `match`).
 */
export interface SearchHit extends Stream {
  /** How it matched, in rank order: `id`, `tx`, `address`, `token`, `address_prefix`. */
  match: string;
  /** The stream alone (without `match`). */
  readonly stream: Stream;
}

/** A search hit as the API sends it. */
interface SearchHitWire {
  match: string;
  stream: Stream;
}

/** A shareable request to be paid by a stream (the payer's stream carries `memo = slug`). */
export interface InvoiceLink {
  id: string;
  slug: string;
  /** The issuer. */
  sender: string;
  receiver: string;
  amount: bigint;
  tokenAddress: string;
  /** The token's symbol, name and decimals (absent from a server that does not send it). */
  tokenInfo?: TokenInfo;
  duration: number;
  description: string | null;
  pdfUrl: string | null;
  /** base64 of JSON `{receiver, amount, tokenAddress, duration, startTime}`. */
  xdrParams: string;
  status: InvoiceLinkStatus;
  shareUrl: string;
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  signedAt: Date | null;
  completedAt: Date | null;
  canceledAt: Date | null;
  streamId: number | null;
  txHash: string | null;
  completedBy: string | null;
  /** The last payment the chain rejected (the link stayed or became payable), if any. */
  lastFailure: PaymentFailure | null;
}

export interface PaymentFailure {
  txHash: string;
  reason: string;
  at: Date;
}

/** A SEP-10 challenge to sign (snake_case on the wire, as SEP-10 has it). */
export interface Challenge {
  transaction: string;
  network_passphrase: string;
}

/** A bearer token (JWT) for the account that signed the SEP-10 challenge. */
export interface AuthToken {
  token: string;
  expires_at: Date;
}

// --- inputs ---

/** An amount in token base units: a `bigint` (a safe-integer `number` is accepted too). */
export type AmountInput = bigint | number;

/**
 * Arguments of `createStream` / the V2 contract's `create_stream(StreamArgs)`.
 *
 * The seed's names: `receiver`, `amount`, `tokenAddress`, `duration`, `yieldEnabled`. The
 * contract-level names are accepted as the advanced form: `token` (= `tokenAddress`),
 * `totalAmount` (= `amount`), `startTime`/`endTime`/`cliffTime` (instead of `duration`), and
 * every other `StreamArgs` key with the contract's default. `sender` defaults to the signing
 * account.
 */
export interface CreateStreamParams {
  receiver: string;
  /** Base units (i128). The seed's name for `totalAmount`. */
  amount?: AmountInput;
  /** The token contract (C...). The seed's name for `token`. */
  tokenAddress?: string;
  /** Seconds; without `startTime` the stream starts shortly after the latest ledger. */
  duration?: number;
  yieldEnabled?: boolean;
  sender?: string | null;
  /** The contract's name for `tokenAddress`. */
  token?: string;
  /** The contract's name for `amount`. */
  totalAmount?: AmountInput;
  startTime?: number;
  /** Defaults to `startTime` (no cliff). */
  cliffTime?: number | null;
  endTime?: number;
  stepDuration?: AmountInput;
  multiplierBps?: AmountInput;
  penaltyBps?: number;
  vaultAddress?: string | null;
  isRecurrent?: boolean;
  cycleDuration?: number;
  cancellationType?: number;
  affiliate?: string | null;
  /** A Soroban Symbol (at most 32 of `[A-Za-z0-9_]`); an invoice link's slug pays it. */
  memo?: string | null;
  yieldRecipient?: number;
  splitBps?: number;
  /** 0 linear, 1 exponential. */
  curveType?: number;
  splitAddress?: string | null;
}

/** A stream id: public (`"C...-42"`) or the on-chain number (with the client's `contractId`). */
export type StreamRef = string | number | bigint;

export interface WithdrawParams {
  streamId: StreamRef;
  /** Who receives (default: the signing account). */
  beneficiary?: string | null;
}

export interface CancelStreamParams {
  streamId: StreamRef;
  /** Who cancels: the sender or the receiver (default: the signing account). */
  caller?: string | null;
}

export interface TopUpParams {
  streamId: StreamRef;
  extraAmount: AmountInput;
  sender?: string | null;
}

export interface CreateInvoiceLinkParams {
  receiver: string;
  amount: AmountInput;
  tokenAddress: string;
  duration: number;
  description?: string | null;
  pdfUrl?: string | null;
  expiresAt?: Date | string | null;
  idempotencyKey?: string;
}

/** `address` matches streams this account sends (`out`), receives (`in`) or both. */
export const DIRECTIONS = ["in", "out", "both"] as const;
export type Direction = (typeof DIRECTIONS)[number];
export const SORTS = ["created_desc", "created_asc", "end_desc", "end_asc", "amount_desc", "amount_asc"] as const;
export type Sort = (typeof SORTS)[number];

/** Every filter of `GET /api/v1/streams`. */
export interface ListStreamsParams {
  sender?: string;
  receiver?: string;
  /** Sender or receiver (see `direction`). */
  address?: string;
  direction?: Direction;
  status?: StreamStatus;
  token?: string;
  contract?: string;
  sort?: Sort;
  limit?: number;
  cursor?: string;
}

// --- contract calls ---

/** What a wallet answers: the signed XDR, or Stellar Wallets Kit's `{ signedTxXdr }`. */
export type WalletAnswer = string | { signedTxXdr: string };

/** Signs a transaction: `(xdr, networkPassphrase) => signed xdr` (a wallet, e.g. Stellar Wallets Kit). */
export type SignCallback = (transactionXdr: string, networkPassphrase: string) => WalletAnswer | Promise<WalletAnswer>;

/** A `Keypair` (signs in this process; its secret is never sent) or a wallet callback. */
export type Signer = Keypair | SignCallback;

export interface CallOptions {
  /** Without a signer the prepared, unsigned transaction is returned. */
  signer?: Signer;
  /** The transaction's source account (default: the Keypair's, else the acting account). */
  source?: string;
  /** The contract (default: the client's `contractId`, or the one in the stream id). */
  contractId?: string;
}
export type SignedCallOptions = CallOptions & { signer: Signer };
export type UnsignedCallOptions = CallOptions & { signer?: undefined };

/** A simulated, prepared, unsigned transaction for a wallet to sign and submit. */
export interface PreparedTransaction {
  function: string;
  contractId: string;
  source: string;
  /** Unsigned envelope (footprint, resource fee and auth applied). */
  xdr: string;
  /** `web+stellar:tx?xdr=...` (SEP-7). */
  sep7Uri: string;
  networkPassphrase: string;
  txHash: string;
  fee: number;
  minResourceFee: number;
  simulatedReturnXdr: string | null;
  startTime: number | null;
  endTime: number | null;
}

/** A contract call that landed in a ledger. */
export interface ContractCallResult {
  function: string;
  contractId: string;
  txHash: string;
  ledger: number;
  createdAt: number | null;
  returnValueXdr: string | null;
}

export interface CreateStreamResult extends ContractCallResult {
  /** The public id: `"<contract>-<on-chain id>"`. */
  streamId: string;
  onChainId: number;
  startTime: number;
  endTime: number;
}

export interface WithdrawResult extends ContractCallResult {
  amount: bigint;
}

/** One page of a list. */
export interface PageData<T> {
  data: T[];
  nextCursor: string | null;
}

// --- specs (the parse of each type, checked against /openapi.json) ---

const n = f.nullable;

export const TokenInfoSpec = spec<TokenInfo>("TokenInfo", "TokenInfoOut", {
  address: f.string(),
  symbol: n(f.string()),
  name: n(f.string()),
  decimals: f.integer(),
  homeDomain: n(f.string()),
});

export const StreamSpec = spec<Stream>("Stream", "StreamOut", {
  id: f.string(),
  contract: f.string(),
  streamId: f.integer(),
  version: f.integer(),
  sender: f.string(),
  receiver: f.string(),
  beneficiary: f.string(),
  token: f.string(),
  tokenInfo: f.optional(f.ref(TokenInfoSpec)),
  totalAmount: f.amount(),
  withdrawnAmount: f.amount(),
  startTime: f.integer(),
  cliffTime: f.integer(),
  endTime: f.integer(),
  status: f.string(),
  streamedAmount: f.amount(),
  withdrawableAmount: f.amount(),
  refundableAmount: f.amount(),
  canceledAt: n(f.integer()),
  cancelToReceiver: n(f.amount()),
  cancelToSender: n(f.amount()),
  archivedAt: n(f.integer()),
  yieldEnabled: f.boolean(),
  memo: n(f.string()),
  invoiceSlug: n(f.string()),
  createdLedger: f.integer(),
  createdTx: f.string(),
  createdAt: f.integer(),
  updatedLedger: f.integer(),
  asOf: f.integer(),
});

export const StreamEventSpec = spec<StreamEvent>("StreamEvent", "StreamEventOut", {
  type: f.string(),
  ledger: f.integer(),
  ledgerClosedAt: f.datetime(),
  txHash: f.string(),
  txIndex: f.integer(),
  opIndex: f.integer(),
  eventIndex: f.integer(),
  decoded: f.object(),
});

export const StreamHistorySpec = spec<StreamHistory>("StreamHistory", "StreamHistory", {
  stream: f.ref(StreamSpec),
  events: f.array(f.ref(StreamEventSpec)),
});

const yieldFields = {
  stream: f.string(),
  yieldEnabled: f.boolean(),
  estimate: f.boolean(),
  vault: n(f.string()),
  apyBps: f.integer(),
  rateSource: f.string(),
  principalLocked: f.amount(),
  accruedEstimate: f.amount(),
  recipient: n(f.string()),
  asOf: f.integer(),
};
export const YieldDataSpec = spec<YieldData>("YieldData", "YieldOut", yieldFields);
export const YieldProjectionSpec = spec<YieldProjection>("YieldProjection", "YieldProjectionOut", {
  ...yieldFields,
  days: f.integer(),
  projectedYieldEstimate: f.amount(),
  projectedTotalEstimate: f.amount(),
});

export const TokenStatsSpec = spec<TokenStats>("TokenStats", "TokenStatsOut", {
  token: f.string(),
  streams: f.integer(),
  valueLocked: f.amount(),
  totalVolume: f.amount(),
});

export const StatsSpec = spec<Stats>("Stats", "StatsOut", {
  total: f.integer(),
  active: f.integer(),
  completed: f.integer(),
  canceled: f.integer(),
  paused: f.integer(),
  archived: f.integer(),
  uniqueSenders: f.integer(),
  uniqueReceivers: f.integer(),
  tokens: f.array(f.ref(TokenStatsSpec)),
  indexerLatestLedger: n(f.integer()),
  networkLatestLedger: n(f.integer()),
  lagLedgers: n(f.integer()),
  asOf: f.integer(),
});

export const ContractSyncSpec = spec<ContractSync>("ContractSync", "ContractSyncOut", {
  contract: f.string(),
  lastIngestedLedger: n(f.integer()),
  networkLatestLedger: n(f.integer()),
  lagLedgers: n(f.integer()),
  lagSeconds: n(f.integer()),
  updatedAt: n(f.datetime()),
  gaps: f.array(f.array(f.integer())),
});

export const SyncStatusSpec = spec<SyncStatus>("SyncStatus", "SyncStatusOut", {
  contracts: f.array(f.ref(ContractSyncSpec)),
});

/** A hit flattened: the stream's fields and `match`; `stream` (the stream alone) not enumerable. */
function flattenHit({ match, stream }: SearchHitWire): SearchHit {
  const hit = { ...stream, match } as SearchHit;
  Object.defineProperty(hit, "stream", { value: stream, enumerable: false });
  return hit;
}

export const SearchHitSpec = spec<SearchHitWire>(
  "SearchHit",
  "SearchHit",
  {
    match: f.string(),
    stream: f.ref(StreamSpec),
  },
  flattenHit,
);

export const PaymentFailureSpec = spec<PaymentFailure>("PaymentFailure", "PaymentFailure", {
  txHash: f.string(),
  reason: f.string(),
  at: f.datetime(),
});

export const InvoiceLinkSpec = spec<InvoiceLink>("InvoiceLink", "InvoiceLinkOut", {
  id: f.string(),
  slug: f.string(),
  sender: f.string(),
  receiver: f.string(),
  amount: f.amount(),
  tokenAddress: f.string(),
  tokenInfo: f.optional(f.ref(TokenInfoSpec)),
  duration: f.integer(),
  description: n(f.string()),
  pdfUrl: n(f.string()),
  xdrParams: f.string(),
  status: f.string(),
  shareUrl: f.string(),
  expiresAt: n(f.datetime()),
  createdAt: f.datetime(),
  updatedAt: f.datetime(),
  signedAt: n(f.datetime()),
  completedAt: n(f.datetime()),
  canceledAt: n(f.datetime()),
  streamId: n(f.integer()),
  txHash: n(f.string()),
  completedBy: n(f.string()),
  lastFailure: n(f.ref(PaymentFailureSpec)),
});

export const ChallengeSpec = spec<Challenge>("Challenge", "Challenge", {
  transaction: f.string(),
  network_passphrase: f.string(),
});

export const AuthTokenSpec = spec<AuthToken>("AuthToken", "TokenResponse", {
  token: f.string(),
  expires_at: f.datetime(),
});

/** Every response type's spec (the OpenAPI check walks these). */
export const RESPONSE_SPECS = [
  TokenInfoSpec,
  StreamSpec,
  StreamEventSpec,
  StreamHistorySpec,
  YieldDataSpec,
  YieldProjectionSpec,
  TokenStatsSpec,
  StatsSpec,
  ContractSyncSpec,
  SyncStatusSpec,
  SearchHitSpec,
  InvoiceLinkSpec,
  PaymentFailureSpec,
  ChallengeSpec,
  AuthTokenSpec,
];

/** Request bodies the SDK sends, by OpenAPI schema (JSON names). */
export const REQUEST_FIELDS: Readonly<Record<string, readonly string[]>> = {
  InvoiceLinkCreate: ["receiver", "amount", "tokenAddress", "duration", "description", "pdfUrl", "expiresAt"],
  InvoiceStatusUpdate: ["status", "txHash", "streamId"],
  TokenRequest: ["transaction"],
};

/** The query parameters of `GET /api/v1/streams` that `getStreams` / `streams.list` take. */
export const LIST_STREAMS_PARAMS: readonly (keyof ListStreamsParams)[] = [
  "sender",
  "receiver",
  "address",
  "direction",
  "status",
  "token",
  "contract",
  "sort",
  "limit",
  "cursor",
];
