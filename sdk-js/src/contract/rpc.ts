/**
 * The few Stellar RPC (JSON-RPC) methods a contract call needs, over `fetch`, with retries of
 * transport errors, 408, 429 and 5xx (every method used is safe to repeat: reads, simulation,
 * and `sendTransaction` of the same signed envelope, which the node deduplicates).
 */
import { Keypair, xdr } from "@stellar/stellar-sdk";
import { APIConnectionError, APITimeoutError, NebulaError, RPCError } from "../errors.js";
import { retryDelay, type Sleep } from "../core.js";

export interface LatestLedger {
  sequence: number;
  closeTime: number;
}

let nextId = 1;

export class SorobanRpc {
  constructor(
    readonly url: string,
    private readonly options: { fetch: typeof fetch; timeout: number; maxRetries: number; sleep: () => Sleep },
  ) {}

  async call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>> {
    const payload = JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, ...(params ? { params } : {}) });
    for (let retries = 0; ; retries++) {
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.options.timeout * 1000);
      let response: Response;
      let text: string;
      try {
        response = await this.options.fetch(this.url, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: payload,
          signal: controller.signal,
        });
        text = await response.text();
      } catch (error) {
        if (retries < this.options.maxRetries) {
          await this.options.sleep()(retryDelay(retries, null, false));
          continue;
        }
        if (timedOut) throw new APITimeoutError(`Stellar RPC ${method} timed out`, { cause: error });
        throw new APIConnectionError(`Stellar RPC at ${this.url} unreachable: ${String(error)}`, { cause: error });
      } finally {
        clearTimeout(timer);
      }
      if (response.status >= 400) {
        const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
        if (retryable && retries < this.options.maxRetries) {
          await this.options.sleep()(retryDelay(retries, response.headers, false));
          continue;
        }
        throw new RPCError(`${method}: HTTP ${response.status} from the RPC node`, { status: response.status });
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new RPCError(`${method}: the RPC node answered something that is not JSON`);
      }
      if (typeof body !== "object" || body === null) throw new RPCError(`${method}: the RPC node answered a non-object`);
      const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
      if (error) {
        const code = error.code === undefined ? null : String(error.code);
        throw new RPCError(`${method}: ${String(error.message ?? "error")}`, { code });
      }
      const result = (body as { result?: unknown }).result;
      if (typeof result !== "object" || result === null) throw new RPCError(`${method}: the RPC node's answer has no result object`);
      return result as Record<string, unknown>;
    }
  }

  async latestLedger(): Promise<LatestLedger> {
    const result = await this.call("getLatestLedger");
    return { sequence: Number(result.sequence), closeTime: Number(result.closeTime) };
  }

  /** The account's current sequence number (a string: it is an int64). */
  async accountSequence(account: string): Promise<string> {
    const key = xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: Keypair.fromPublicKey(account).xdrAccountId() }));
    const result = await this.call("getLedgerEntries", { keys: [key.toXDR("base64")] });
    const entries = (result.entries as { xdr: string }[] | undefined) ?? [];
    if (entries.length === 0) {
      throw new NebulaError(`account ${account} does not exist on this network: fund it before calling the contract`);
    }
    const data = xdr.LedgerEntryData.fromXDR((entries[0] as { xdr: string }).xdr, "base64");
    if (data.switch().name !== "account") throw new RPCError(`getLedgerEntries: the entry for ${account} is not an account`);
    return data.account().seqNum().toString();
  }

  simulate(transactionXdr: string): Promise<Record<string, unknown>> {
    return this.call("simulateTransaction", { transaction: transactionXdr });
  }

  send(transactionXdr: string): Promise<Record<string, unknown>> {
    return this.call("sendTransaction", { transaction: transactionXdr });
  }

  getTransaction(hash: string): Promise<Record<string, unknown>> {
    return this.call("getTransaction", { hash });
  }
}
