/**
 * The HTTP core: request building, retries with backoff, error mapping.
 *
 * Connection errors, timeouts, 408, 429 and 5xx are retried up to `maxRetries` times with
 * exponential backoff (0.5 s doubling to 8 s, minus up to 25 % jitter). A `Retry-After` (or
 * `Retry-After-Ms`) of at most 60 s is honoured instead, and `X-Should-Retry: true|false` from
 * the server overrides the decision. GET, PUT and DELETE are retried; every POST carries an
 * `Idempotency-Key` that stays the same on each retry; PATCH only when the server certainly did
 * not process it (connection refused, 408, 429).
 */
import {
  APIConnectionError,
  APIError,
  APIStatusError,
  APITimeoutError,
  AuthenticationError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServerError,
  ValidationError,
} from "./errors.js";
import { CursorPage } from "./pagination.js";
import { parse, SchemaMismatch, type Spec } from "./schema.js";
import type { PageData } from "./types.js";
import { VERSION } from "./version.js";

export const API_PREFIX = "/api/v1";
export const DEFAULT_TIMEOUT = 30;
export const DEFAULT_MAX_RETRIES = 2;
export const INITIAL_RETRY_DELAY = 0.5;
export const MAX_RETRY_DELAY = 8;
export const MAX_RETRY_AFTER = 60;

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

export type Sleep = (seconds: number) => Promise<void>;
export const realSleep: Sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

export type Query = Record<string, string | number | boolean | bigint | null | undefined>;

export interface RequestOptions {
  method: string;
  path: string;
  query?: Query;
  /** JSON body (bigints are sent as decimal strings). */
  body?: unknown;
  /** A raw body (sent as is). */
  content?: string;
  headers?: Record<string, string>;
  idempotencyKey?: string;
  maxRetries?: number;
  /** Seconds. */
  timeout?: number;
}

export interface CoreOptions {
  token?: string | null;
  /** Seconds per attempt (default 30). */
  timeout?: number;
  maxRetries?: number;
  defaultHeaders?: Record<string, string>;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** How to wait between retries and polls, in seconds (tests make it instant). */
  sleep?: Sleep;
}

export function normalizeBaseUrl(baseUrl: string): string {
  let text = String(baseUrl).replace(/\/+$/, "");
  if (text.endsWith(API_PREFIX)) text = text.slice(0, -API_PREFIX.length); // the seed's style
  return text;
}

export function parseRetryAfter(headers: Headers | null): number | null {
  if (!headers) return null;
  const millis = headers.get("retry-after-ms");
  if (millis !== null && Number.isFinite(Number(millis))) return Number(millis) / 1000;
  const value = headers.get("retry-after");
  if (value === null) return null;
  if (value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : (date - Date.now()) / 1000;
}

export function retryDelay(retriesTaken: number, headers: Headers | null, jitter = true): number {
  const retryAfter = parseRetryAfter(headers);
  if (retryAfter !== null && retryAfter >= 0 && retryAfter <= MAX_RETRY_AFTER) return retryAfter;
  const delay = Math.min(INITIAL_RETRY_DELAY * 2 ** Math.min(retriesTaken, 20), MAX_RETRY_DELAY);
  return jitter ? delay * (1 - 0.25 * Math.random()) : delay;
}

export function jsonStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
}

interface Attempt {
  response?: Response;
  error?: unknown;
  timedOut?: boolean;
}

export class APIClient {
  readonly baseUrl: string;
  token: string | null;
  timeout: number;
  maxRetries: number;
  protected readonly defaultHeaders: Record<string, string>;
  protected readonly fetchImpl: typeof fetch;
  /** How to wait between retries and polls (seconds). */
  sleep: Sleep;

  constructor(baseUrl: string, options: CoreOptions = {}) {
    if (!baseUrl) throw new TypeError("baseUrl is required, e.g. https://api.example.com");
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new RangeError("maxRetries must be an integer >= 0");
    this.baseUrl = normalizeBaseUrl(baseUrl);
    this.token = options.token ?? null;
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT;
    this.maxRetries = maxRetries;
    this.defaultHeaders = { ...(options.defaultHeaders ?? {}) };
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== "function") throw new TypeError("no fetch: pass options.fetch (Node >= 18 has one)");
    this.fetchImpl = f;
    this.sleep = options.sleep ?? realSleep;
  }

  get userAgent(): string {
    const node = (globalThis as { process?: { version?: string } }).process?.version;
    return `stellarstream-nebula-sdk-js/${VERSION}${node ? ` node/${node}` : ""}`;
  }

  url(path: string, query?: Query): string {
    const url = new URL(this.baseUrl + (path.startsWith("/") ? path : `/${path}`));
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === null || value === undefined) continue;
      url.searchParams.set(key, typeof value === "boolean" ? (value ? "true" : "false") : String(value));
    }
    return url.toString();
  }

  protected headers(options: RequestOptions, retriesTaken: number): Record<string, string> {
    const headers: Record<string, string> = { Accept: "application/json", ...this.defaultHeaders };
    if ((globalThis as { window?: unknown }).window === undefined) headers["User-Agent"] = this.userAgent;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (options.idempotencyKey !== undefined) headers["Idempotency-Key"] = options.idempotencyKey;
    if (retriesTaken) headers["X-Nebula-Retry-Count"] = String(retriesTaken);
    return { ...headers, ...(options.headers ?? {}) };
  }

  protected retryAllowed(options: RequestOptions, notProcessed: boolean, response: Response | null): boolean {
    if (response) {
      const should = response.headers.get("x-should-retry");
      if (should === "true") return true;
      if (should === "false") return false;
      if (response.status !== 408 && response.status !== 429 && response.status < 500) return false;
    }
    const method = options.method.toUpperCase();
    if (SAFE_METHODS.has(method)) return true;
    if (method === "POST" && options.idempotencyKey !== undefined) return true;
    return notProcessed;
  }

  private async attempt(url: string, init: RequestInit, timeout: number): Promise<Attempt> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout * 1000);
    try {
      const response = await this.fetchImpl(url, { ...init, signal: controller.signal });
      // Read the body inside the timeout too.
      const text = await response.text();
      return { response: new Response(response.status === 204 ? null : text, response) };
    } catch (error) {
      return { error, timedOut };
    } finally {
      clearTimeout(timer);
    }
  }

  /** One API call with retries; returns the successful `Response` (its body already read). */
  async raw(options: RequestOptions): Promise<Response> {
    const method = options.method.toUpperCase();
    const opts: RequestOptions = { ...options, method };
    if (method === "POST" && opts.idempotencyKey === undefined) opts.idempotencyKey = `nebula-${randomId()}`;
    const maxRetries = opts.maxRetries ?? this.maxRetries;
    const url = this.url(opts.path, opts.query);
    const body = opts.content ?? (opts.body === undefined ? undefined : jsonStringify(opts.body));
    for (let retries = 0; ; retries++) {
      const init: RequestInit = { method, headers: this.headers(opts, retries), body, redirect: "follow" };
      const got = await this.attempt(url, init, opts.timeout ?? this.timeout);
      if (got.response === undefined) {
        const refused = !got.timedOut && isConnectionRefused(got.error);
        if (retries < maxRetries && this.retryAllowed(opts, refused, null)) {
          await this.sleep(retryDelay(retries, null));
          continue;
        }
        if (got.timedOut) throw new APITimeoutError(`Request timed out: ${method} ${opts.path}`, { cause: got.error });
        throw new APIConnectionError(`Connection error: ${describe(got.error)}`, { cause: got.error });
      }
      const response = got.response;
      if (response.status >= 400) {
        const notProcessed = response.status === 408 || response.status === 429;
        if (retries < maxRetries && this.retryAllowed(opts, notProcessed, response)) {
          await this.sleep(retryDelay(retries, response.headers));
          continue;
        }
        throw await makeStatusError(response);
      }
      return response;
    }
  }

  /** One API call, its JSON parsed as `spec` (or returned as is without one). */
  async request<T>(options: RequestOptions, spec?: Spec): Promise<T> {
    const response = await this.raw(options);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let data: unknown;
    try {
      data = text === "" ? null : JSON.parse(text);
    } catch {
      throw new APIError(`the API answered ${response.status} with a body that is not JSON`, {
        status: response.status,
        requestId: response.headers.get("x-request-id"),
      });
    }
    if (!spec) return data as T;
    try {
      return parse<T>(spec, data);
    } catch (error) {
      if (error instanceof SchemaMismatch) {
        throw new APIError(`the API's response does not match ${spec.name}: ${error.message}`, {
          status: response.status,
          requestId: response.headers.get("x-request-id"),
        });
      }
      throw error;
    }
  }

  async requestText(options: RequestOptions): Promise<string> {
    return (await this.raw(options)).text();
  }

  /** One page of a keyset list; the page fetches the next ones itself. */
  async list<T>(path: string, item: Spec, query: Query = {}): Promise<CursorPage<T>> {
    const body = await this.request<unknown>({ method: "GET", path, query });
    const page = body as { data?: unknown; nextCursor?: unknown };
    if (!page || !Array.isArray(page.data)) {
      throw new APIError(`the API's response is not a page of ${item.name}`);
    }
    let data: T[];
    try {
      data = page.data.map((x) => parse<T>(item, x));
    } catch (error) {
      if (error instanceof SchemaMismatch) throw new APIError(`the API's response does not match ${item.name}: ${error.message}`);
      throw error;
    }
    const next = typeof page.nextCursor === "string" ? page.nextCursor : null;
    const pageData: PageData<T> = { data, nextCursor: next };
    return new CursorPage<T>(pageData, (cursor) => this.list<T>(path, item, { ...query, cursor }));
  }

  // Verbs, also for routes the SDK has no method for yet (JSON returned as is).
  get<T = unknown>(path: string, query?: Query): Promise<T> {
    return this.request<T>({ method: "GET", path, query });
  }
  post<T = unknown>(path: string, body?: unknown, options: Partial<RequestOptions> = {}): Promise<T> {
    return this.request<T>({ ...options, method: "POST", path, body });
  }
  patch<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>({ method: "PATCH", path, body });
  }
  delete<T = unknown>(path: string): Promise<T> {
    return this.request<T>({ method: "DELETE", path });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

function isConnectionRefused(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN") return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export async function makeStatusError(response: Response): Promise<APIStatusError> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  let code: string | null = null;
  let field: string | null = null;
  let message = `HTTP ${response.status}`;
  const error = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof error === "object" && error !== null) {
    const e = error as { code?: unknown; message?: unknown; field?: unknown };
    code = typeof e.code === "string" ? e.code : null;
    message = typeof e.message === "string" && e.message ? e.message : message;
    field = typeof e.field === "string" ? e.field : null;
  } else if (typeof body === "string" && body.trim()) {
    message = `HTTP ${response.status}: ${body.trim().slice(0, 500)}`;
  }
  const status = response.status;
  const options = { status, headers: response.headers, body, code, field };
  if (status === 400 || status === 422) return new ValidationError(message, options);
  if (status === 401) return new AuthenticationError(message, options);
  if (status === 403) return new PermissionDeniedError(message, options);
  if (status === 404) return new NotFoundError(message, options);
  if (status === 409) return new ConflictError(message, options);
  if (status === 429) return new RateLimitError(message, options);
  if (status >= 500) return new ServerError(message, options);
  return new APIStatusError(message, options);
}
