import { APIClient, type CoreOptions } from "./core.js";
import { ContractRunner } from "./contract/runner.js";
import { SorobanRpc } from "./contract/rpc.js";
import { NebulaError } from "./errors.js";
import { Auth } from "./resources/auth.js";
import { InvoiceLinks } from "./resources/invoiceLinks.js";
import { StatsResource, SyncStatusResource } from "./resources/stats.js";
import { Streams } from "./resources/streams.js";
import { checkAddress } from "./utils.js";

export const NETWORK_PASSPHRASES: Readonly<Record<string, string>> = {
  testnet: "Test SDF Network ; September 2015",
  mainnet: "Public Global Stellar Network ; September 2015",
  futurenet: "Test SDF Future Network ; October 2022",
};
/** Public RPC endpoints; mainnet has none: pass your provider's `rpcUrl`. */
export const NETWORK_RPC_URLS: Readonly<Record<string, string>> = {
  testnet: "https://soroban-testnet.stellar.org",
  futurenet: "https://rpc-futurenet.stellar.org",
};
/** Inclusion fee in stroops; simulation adds the resource fee on top. */
export const DEFAULT_BASE_FEE = 100;
export const POLL_INTERVAL = 1;
export const POLL_ATTEMPTS = 60;

export interface NebulaClientOptions extends CoreOptions {
  /** Stellar RPC endpoint for contract calls (public default on testnet/futurenet). */
  rpcUrl?: string;
  /** `testnet` (default), `mainnet` or `futurenet`; or pass `networkPassphrase`. */
  network?: string;
  networkPassphrase?: string;
  /** The StellarStream V2 contract (`C...`) for `streams.create` and bare on-chain ids. */
  contractId?: string;
  baseFee?: number;
  /** Seconds between polls: `getTransaction` after a submit, `streams.waitFor`. */
  pollInterval?: number;
  pollAttempts?: number;
}

/**
 * The StellarStream API client: `auth`, `streams`, `invoiceLinks`, `stats`, `syncStatus`.
 *
 * ```ts
 * const client = new NebulaClient("https://api.example.com", { rpcUrl, contractId: "C..." });
 * const stream = await client.streams.retrieve("C...-42");
 * ```
 */
export class NebulaClient extends APIClient {
  readonly network: string;
  readonly networkPassphrase: string;
  readonly rpcUrl: string | null;
  readonly contractId: string | null;
  readonly baseFee: number;
  readonly pollInterval: number;
  readonly pollAttempts: number;
  private readonly clientOptions: NebulaClientOptions;
  private runner: ContractRunner | null = null;

  readonly auth: Auth;
  readonly streams: Streams;
  readonly invoiceLinks: InvoiceLinks;
  readonly stats: StatsResource;
  readonly syncStatus: SyncStatusResource;

  constructor(baseUrl: string, options: NebulaClientOptions = {}) {
    super(baseUrl, options);
    this.clientOptions = { ...options };
    this.network = options.network ?? "testnet";
    let passphrase = options.networkPassphrase;
    if (passphrase === undefined) {
      passphrase = NETWORK_PASSPHRASES[this.network];
      if (passphrase === undefined) {
        throw new TypeError(
          `network ${JSON.stringify(this.network)} is not one of ${Object.keys(NETWORK_PASSPHRASES).join(", ")}: pass networkPassphrase for a custom network`,
        );
      }
    }
    this.networkPassphrase = passphrase;
    this.rpcUrl = options.rpcUrl ?? NETWORK_RPC_URLS[this.network] ?? null;
    this.contractId = options.contractId === undefined ? null : checkAddress(options.contractId, "contractId", "C");
    this.baseFee = options.baseFee ?? DEFAULT_BASE_FEE;
    this.pollInterval = options.pollInterval ?? POLL_INTERVAL;
    this.pollAttempts = options.pollAttempts ?? POLL_ATTEMPTS;
    this.auth = new Auth(this);
    this.streams = new Streams(this);
    this.invoiceLinks = new InvoiceLinks(this);
    this.stats = new StatsResource(this);
    this.syncStatus = new SyncStatusResource(this);
  }

  /** A copy of this client with some options changed (e.g. another token). */
  withOptions(options: NebulaClientOptions): NebulaClient {
    return new NebulaClient(this.baseUrl, {
      ...this.clientOptions,
      token: this.token,
      timeout: this.timeout,
      maxRetries: this.maxRetries,
      sleep: this.sleep,
      ...options,
    });
  }

  requireContractId(): string {
    if (this.contractId === null) throw new NebulaError("contract calls need the StellarStream contract: pass contractId");
    return this.contractId;
  }

  /** The contract-call machinery (built on first use). */
  contractRunner(): ContractRunner {
    if (this.runner === null) {
      if (!this.rpcUrl) {
        throw new NebulaError(`contract calls need a Stellar RPC endpoint: pass rpcUrl (network ${JSON.stringify(this.network)} has no public default)`);
      }
      const rpc = new SorobanRpc(this.rpcUrl, {
        fetch: this.fetchImpl,
        timeout: this.timeout,
        maxRetries: this.maxRetries,
        sleep: () => this.sleep,
      });
      this.runner = new ContractRunner(rpc, {
        networkPassphrase: this.networkPassphrase,
        baseFee: this.baseFee,
        sleep: () => this.sleep,
        pollInterval: this.pollInterval,
        pollAttempts: this.pollAttempts,
      });
    }
    return this.runner;
  }

  /** Never shows the token. */
  toJSON(): Record<string, unknown> {
    return { baseUrl: this.baseUrl, network: this.network, rpcUrl: this.rpcUrl, contractId: this.contractId, token: this.token ? "***" : null };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `NebulaClient ${JSON.stringify(this.toJSON())}`;
  }
}
