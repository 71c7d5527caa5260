/**
 * `Nebula`: the seed SDK's static entry point. It wraps one process-wide {@link NebulaClient}
 * (the only global state in the SDK, by design of the seed's API); `Nebula.client()` gives it.
 *
 * ```ts
 * Nebula.initialize("https://api.example.com", { rpcUrl, contractId: "C..." });
 * await Nebula.login(keypair);
 * const stream = await Nebula.getStream("C...-42");
 * ```
 */
import type { Keypair } from "@stellar/stellar-sdk";
import { NebulaClient, type NebulaClientOptions } from "./client.js";
import { NotInitializedError } from "./errors.js";
import type { CursorPage } from "./pagination.js";
import type { WaitForOptions } from "./resources/streams.js";
import type {
  CallOptions,
  CancelStreamParams,
  ContractCallResult,
  CreateInvoiceLinkParams,
  CreateStreamParams,
  CreateStreamResult,
  InvoiceLink,
  InvoiceLinkStatus,
  ListStreamsParams,
  PreparedTransaction,
  SearchHit,
  SignedCallOptions,
  Stats,
  Stream,
  StreamEvent,
  StreamHistory,
  StreamRef,
  SyncStatus,
  TopUpParams,
  UnsignedCallOptions,
  WithdrawParams,
  WithdrawResult,
  YieldData,
  YieldProjection,
} from "./types.js";

let shared: NebulaClient | null = null;

export class Nebula {
  private constructor() {
    throw new TypeError("Nebula is used through its static methods: Nebula.initialize(baseUrl)");
  }

  // --- setup ---

  /** Create the shared client; `options` as for {@link NebulaClient}. */
  static initialize(baseUrl: string, options: NebulaClientOptions = {}): NebulaClient {
    shared = new NebulaClient(baseUrl, options);
    return shared;
  }

  /** The shared client; throws {@link NotInitializedError} before {@link initialize}. */
  static client(): NebulaClient {
    if (shared === null) throw new NotInitializedError("Nebula is not initialized: call Nebula.initialize(baseUrl) first");
    return shared;
  }

  /** Forget the shared client (`initialize` may be called again later). */
  static close(): void {
    shared = null;
  }

  static setAuthToken(token: string | null): void {
    Nebula.client().token = token;
  }

  /** SEP-10 sign-in; stores the token and returns it. The secret never leaves here. */
  static async login(keypair: Keypair): Promise<string> {
    return (await Nebula.client().auth.login(keypair)).token;
  }

  // --- streams: contract calls ---

  /** Create a stream on-chain; without `signer`, the prepared transaction for a wallet. */
  static createStream(params: CreateStreamParams, options: SignedCallOptions): Promise<CreateStreamResult>;
  static createStream(params: CreateStreamParams, options?: UnsignedCallOptions): Promise<PreparedTransaction>;
  static createStream(params: CreateStreamParams, options?: CallOptions): Promise<CreateStreamResult | PreparedTransaction>;
  static async createStream(params: CreateStreamParams, options: CallOptions = {}): Promise<CreateStreamResult | PreparedTransaction> {
    return Nebula.client().streams.create(params, options);
  }

  static withdrawFromStream(params: WithdrawParams | StreamRef, options: SignedCallOptions): Promise<WithdrawResult>;
  static withdrawFromStream(params: WithdrawParams | StreamRef, options?: UnsignedCallOptions): Promise<PreparedTransaction>;
  static withdrawFromStream(params: WithdrawParams | StreamRef, options?: CallOptions): Promise<WithdrawResult | PreparedTransaction>;
  static async withdrawFromStream(params: WithdrawParams | StreamRef, options: CallOptions = {}): Promise<WithdrawResult | PreparedTransaction> {
    return Nebula.client().streams.withdraw(params, options);
  }

  static cancelStream(params: CancelStreamParams | StreamRef, options: SignedCallOptions): Promise<ContractCallResult>;
  static cancelStream(params: CancelStreamParams | StreamRef, options?: UnsignedCallOptions): Promise<PreparedTransaction>;
  static cancelStream(params: CancelStreamParams | StreamRef, options?: CallOptions): Promise<ContractCallResult | PreparedTransaction>;
  static async cancelStream(params: CancelStreamParams | StreamRef, options: CallOptions = {}): Promise<ContractCallResult | PreparedTransaction> {
    return Nebula.client().streams.cancel(params, options);
  }

  static topUpStream(params: TopUpParams, options: SignedCallOptions): Promise<ContractCallResult>;
  static topUpStream(params: TopUpParams, options?: UnsignedCallOptions): Promise<PreparedTransaction>;
  static async topUpStream(params: TopUpParams, options: CallOptions = {}): Promise<ContractCallResult | PreparedTransaction> {
    return Nebula.client().streams.topUp(params, options);
  }

  // --- streams: reads ---

  static async getStream(streamId: string): Promise<Stream> {
    return Nebula.client().streams.retrieve(streamId);
  }

  /** Streams, with every filter of `GET /api/v1/streams`; `for await` the page to walk all pages. */
  static async getStreams(params: ListStreamsParams = {}): Promise<CursorPage<Stream>> {
    return Nebula.client().streams.list(params);
  }

  /** The stream once the indexer shows it (with `ledger`: its change in that ledger); see `streams.waitFor`. */
  static async waitForStream(streamId: string, options: WaitForOptions = {}): Promise<Stream> {
    return Nebula.client().streams.waitFor(streamId, options);
  }

  static async getStreamHistory(streamId: string): Promise<StreamHistory> {
    return Nebula.client().streams.retrieveHistory(streamId);
  }

  static async getYieldData(streamId: string): Promise<YieldData> {
    return Nebula.client().streams.retrieveYield(streamId);
  }

  /** Projected yield of the stream over the next `days` days. */
  static async calculateYield(streamId: string, days: number): Promise<YieldProjection> {
    return Nebula.client().streams.projectYield(streamId, days);
  }

  static async getStreamEvents(streamId: string, params: { limit?: number; cursor?: string } = {}): Promise<CursorPage<StreamEvent>> {
    return Nebula.client().streams.listEvents(streamId, params);
  }

  static async getStats(): Promise<Stats> {
    return Nebula.client().stats.retrieve();
  }

  static async getSyncStatus(): Promise<SyncStatus> {
    return Nebula.client().syncStatus.retrieve();
  }

  static async searchStreams(query: string, params: { limit?: number; cursor?: string } = {}): Promise<CursorPage<SearchHit>> {
    return Nebula.client().streams.search(query, params);
  }

  // --- invoice links ---

  static async createInvoiceLink(params: CreateInvoiceLinkParams): Promise<InvoiceLink> {
    return Nebula.client().invoiceLinks.create(params);
  }

  static async getInvoiceLink(slug: string): Promise<InvoiceLink> {
    return Nebula.client().invoiceLinks.retrieve(slug);
  }

  static async listInvoiceLinks(params: { status?: InvoiceLinkStatus; limit?: number; cursor?: string } = {}): Promise<CursorPage<InvoiceLink>> {
    return Nebula.client().invoiceLinks.list(params);
  }

  static async updateInvoiceLinkStatus(linkId: string, status: InvoiceLinkStatus, extra: { txHash?: string; streamId?: number } = {}): Promise<InvoiceLink> {
    return Nebula.client().invoiceLinks.updateStatus(linkId, status, extra);
  }

  static async deleteInvoiceLink(linkId: string): Promise<void> {
    return Nebula.client().invoiceLinks.delete(linkId);
  }

  static payInvoiceLink(link: InvoiceLink | string, options: SignedCallOptions): Promise<CreateStreamResult>;
  static payInvoiceLink(link: InvoiceLink | string, options?: UnsignedCallOptions): Promise<PreparedTransaction>;
  static async payInvoiceLink(link: InvoiceLink | string, options: CallOptions = {}): Promise<CreateStreamResult | PreparedTransaction> {
    return Nebula.client().invoiceLinks.pay(link, options);
  }
}
