/**
 * Every error the SDK throws (the same tree as the Python SDK's):
 *
 * ```text
 * NebulaError
 * ├── APIError
 * │   ├── APIStatusError
 * │   │   ├── ValidationError        400, 422 (.field names the input)
 * │   │   ├── AuthenticationError    401
 * │   │   ├── PermissionDeniedError  403
 * │   │   ├── NotFoundError          404
 * │   │   ├── ConflictError          409
 * │   │   ├── RateLimitError         429 (.retryAfter)
 * │   │   └── ServerError            5xx
 * │   └── APIConnectionError
 * │       └── APITimeoutError
 * ├── RPCError                       the Stellar RPC node answered an error
 * ├── SimulationError                .contractErrorCode
 * ├── TransactionFailedError         .transactionCode, .operationCodes
 * ├── SigningError
 * ├── NotIndexedError                the API did not show a landed change within the wait
 * └── NotInitializedError
 * ```
 *
 * Every error has `message`, `status` (HTTP status or `null`), `code` (the API's error code, the
 * RPC's error code or a result code) and `requestId` (the API's `X-Request-Id`).
 */

export interface NebulaErrorOptions {
  status?: number | null;
  code?: string | null;
  requestId?: string | null;
  cause?: unknown;
}

export class NebulaError extends Error {
  readonly status: number | null;
  readonly code: string | null;
  readonly requestId: string | null;

  constructor(message: string, options: NebulaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status ?? null;
    this.code = options.code ?? null;
    this.requestId = options.requestId ?? null;
  }

  override toString(): string {
    const parts: string[] = [];
    if (this.status !== null) parts.push(`status=${this.status}`);
    if (this.code !== null) parts.push(`code=${this.code}`);
    if (this.requestId !== null) parts.push(`requestId=${this.requestId}`);
    return parts.length ? `${this.name}: ${this.message} (${parts.join(", ")})` : `${this.name}: ${this.message}`;
  }
}

/** A call to the StellarStream API failed (an error status or no answer at all). */
export class APIError extends NebulaError {}

export interface APIStatusErrorOptions {
  status: number;
  headers: Headers;
  body: unknown;
  code?: string | null;
  field?: string | null;
}

/** The API answered with a 4xx or 5xx status; `body` is the parsed JSON (or text). */
export class APIStatusError extends APIError {
  declare readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly field: string | null;

  constructor(message: string, options: APIStatusErrorOptions) {
    super(message, {
      status: options.status,
      code: options.code ?? null,
      requestId: options.headers.get("x-request-id"),
    });
    this.headers = options.headers;
    this.body = options.body;
    this.field = options.field ?? null;
  }
}

/** 400 or 422: the request is invalid; `field` names the offending input if known. */
export class ValidationError extends APIStatusError {}
/** 401: no token, or an expired or invalid one. Sign in again (`client.auth.login`). */
export class AuthenticationError extends APIStatusError {}
/** 403: the token's account may not do this. */
export class PermissionDeniedError extends APIStatusError {}
/** 404: no such resource (or it belongs to another account). */
export class NotFoundError extends APIStatusError {}
/** 409: the resource's current state does not allow the action. */
export class ConflictError extends APIStatusError {}
/** 429: too many requests; `retryAfter` is the server's `Retry-After` in seconds. */
export class RateLimitError extends APIStatusError {
  get retryAfter(): number | null {
    const value = this.headers.get("retry-after");
    if (value === null) return null;
    const seconds = Number(value);
    return Number.isFinite(seconds) ? seconds : null;
  }
}
/** 5xx: the server failed; retried automatically before this is thrown. */
export class ServerError extends APIStatusError {}

/** No answer from the API (or the RPC node): connection refused, reset, DNS failure... */
export class APIConnectionError extends APIError {
  constructor(message = "Connection error.", options: NebulaErrorOptions = {}) {
    super(message, options);
  }
}
/** No answer in time (see the client's `timeout`). */
export class APITimeoutError extends APIConnectionError {
  constructor(message = "Request timed out.", options: NebulaErrorOptions = {}) {
    super(message, options);
  }
}

/** The Stellar RPC node answered a JSON-RPC error, or an HTTP error status after retries. */
export class RPCError extends NebulaError {}

/** The contract call fails in simulation, so it was not submitted. */
export class SimulationError extends NebulaError {
  /** The contract's own error number (`Error(Contract, #N)`), when it is a contract error. */
  readonly contractErrorCode: number | null;
  /** The node's full explanation. */
  readonly diagnostic: string;

  constructor(message: string, options: { contractErrorCode?: number | null; diagnostic?: string } = {}) {
    const number = options.contractErrorCode ?? null;
    super(message, { code: number === null ? null : `contract_error_${number}` });
    this.contractErrorCode = number;
    this.diagnostic = options.diagnostic ?? "";
  }
}

/** The network rejected the transaction (`sendTransaction` ERROR) or it failed in a ledger. */
export class TransactionFailedError extends NebulaError {
  readonly txHash: string | null;
  /** `txFAILED`, `txBAD_SEQ`, ... (the XDR spec's names). */
  readonly transactionCode: string | null;
  /** `INVOKE_HOST_FUNCTION_TRAPPED`, ... */
  readonly operationCodes: string[];
  readonly ledger: number | null;

  constructor(
    message: string,
    options: { txHash: string | null; transactionCode: string | null; operationCodes?: string[]; ledger?: number | null },
  ) {
    super(message, { code: options.transactionCode });
    this.txHash = options.txHash;
    this.transactionCode = options.transactionCode;
    this.operationCodes = options.operationCodes ?? [];
    this.ledger = options.ledger ?? null;
  }
}

/** The signer did not return a valid signed transaction, or another signature is needed. */
export class SigningError extends NebulaError {}

/**
 * `streams.waitFor` gave up: the API did not show the stream (at the ledger asked for) in time.
 * The chain has it; the indexer is behind or stopped (see `syncStatus`).
 */
export class NotIndexedError extends NebulaError {
  readonly streamId: string;
  /** The ledger waited for (`null`: the stream's first appearance). */
  readonly ledger: number | null;
  /** Seconds waited. */
  readonly timeout: number;

  constructor(message: string, options: { streamId: string; ledger?: number | null; timeout: number }) {
    super(message);
    this.streamId = options.streamId;
    this.ledger = options.ledger ?? null;
    this.timeout = options.timeout;
  }
}

/** `Nebula` was used before `Nebula.initialize(baseUrl)`. */
export class NotInitializedError extends NebulaError {}
