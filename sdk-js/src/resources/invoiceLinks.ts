/** Invoice links: create, read, list, move along the lifecycle, delete; and pay one on-chain. */
import { MuxedAccount } from "@stellar/stellar-sdk";
import { API_PREFIX } from "../core.js";
import type { NebulaClient } from "../client.js";
import type { CursorPage } from "../pagination.js";
import {
  InvoiceLinkSpec,
  type CallOptions,
  type CreateInvoiceLinkParams,
  type CreateStreamParams,
  type CreateStreamResult,
  type InvoiceLink,
  type InvoiceLinkStatus,
  type PreparedTransaction,
  type SignedCallOptions,
  type UnsignedCallOptions,
} from "../types.js";
import { pathSegment, toBigInt } from "../utils.js";

const BASE = `${API_PREFIX}/invoice-links`;

/** The `createStream` arguments that pay `link` (`memo` = its slug). */
export function paymentParams(link: InvoiceLink): CreateStreamParams {
  let receiver = link.receiver;
  if (receiver.startsWith("M")) receiver = MuxedAccount.fromAddress(receiver, "0").baseAccount().accountId();
  return { receiver, tokenAddress: link.tokenAddress, amount: link.amount, duration: link.duration, memo: link.slug };
}

export class InvoiceLinks {
  constructor(private readonly client: NebulaClient) {}

  /**
   * Create a DRAFT link issued by the signed-in account. Retries reuse one `Idempotency-Key`
   * (generated unless you pass one), so a retried create never makes two links.
   */
  async create(params: CreateInvoiceLinkParams): Promise<InvoiceLink> {
    const body: Record<string, unknown> = {
      receiver: params.receiver,
      amount: toBigInt(params.amount, "amount").toString(),
      tokenAddress: params.tokenAddress,
      duration: params.duration,
    };
    if (params.description != null) body.description = params.description;
    if (params.pdfUrl != null) body.pdfUrl = params.pdfUrl;
    if (params.expiresAt != null) {
      body.expiresAt = params.expiresAt instanceof Date ? params.expiresAt.toISOString() : params.expiresAt;
    }
    return this.client.request<InvoiceLink>(
      { method: "POST", path: BASE, body, ...(params.idempotencyKey ? { idempotencyKey: params.idempotencyKey } : {}) },
      InvoiceLinkSpec,
    );
  }

  /** A link by its slug (public: no token needed). */
  async retrieve(slug: string): Promise<InvoiceLink> {
    return this.client.request<InvoiceLink>({ method: "GET", path: `${BASE}/${pathSegment(slug, "slug")}` }, InvoiceLinkSpec);
  }

  /** The signed-in account's links, newest first. */
  async list(params: { status?: InvoiceLinkStatus; limit?: number; cursor?: string } = {}): Promise<CursorPage<InvoiceLink>> {
    return this.client.list<InvoiceLink>(BASE, InvoiceLinkSpec, { ...params });
  }

  /** Move a link along its lifecycle (a forbidden move throws `ConflictError`). */
  async updateStatus(linkId: string, status: InvoiceLinkStatus, extra: { txHash?: string; streamId?: number } = {}): Promise<InvoiceLink> {
    const body: Record<string, unknown> = { status };
    if (extra.txHash !== undefined) body.txHash = extra.txHash;
    if (extra.streamId !== undefined) body.streamId = extra.streamId;
    return this.client.request<InvoiceLink>(
      { method: "PATCH", path: `${BASE}/${pathSegment(linkId, "linkId")}/status`, body },
      InvoiceLinkSpec,
    );
  }

  /** Delete a DRAFT, EXPIRED or CANCELED link. */
  async delete(linkId: string): Promise<void> {
    await this.client.raw({ method: "DELETE", path: `${BASE}/${pathSegment(linkId, "linkId")}` });
  }

  /** Pay a link (or a slug) with a stream: `create_stream` with `memo` = slug. */
  pay(link: InvoiceLink | string, options: SignedCallOptions): Promise<CreateStreamResult>;
  pay(link: InvoiceLink | string, options?: UnsignedCallOptions): Promise<PreparedTransaction>;
  pay(link: InvoiceLink | string, options?: CallOptions): Promise<CreateStreamResult | PreparedTransaction>;
  async pay(link: InvoiceLink | string, options: CallOptions = {}): Promise<CreateStreamResult | PreparedTransaction> {
    const resolved = typeof link === "string" ? await this.retrieve(link) : link;
    return this.client.streams.create(paymentParams(resolved), options);
  }
}
