export { Nebula } from "./nebula.js";
export {
  NebulaClient,
  NETWORK_PASSPHRASES,
  NETWORK_RPC_URLS,
  DEFAULT_BASE_FEE,
  type NebulaClientOptions,
} from "./client.js";
export { APIClient, API_PREFIX, type CoreOptions, type RequestOptions, type Sleep } from "./core.js";
export { CursorPage } from "./pagination.js";
export * from "./errors.js";
export * from "./types.js";
export { Streams, START_BUFFER_SECONDS, WAIT_TIMEOUT, type WaitForOptions } from "./resources/streams.js";
export { formatUnits, shortAddress, tokenLabel, tokenUnits } from "./tokenInfo.js";
export { Auth, signChallenge } from "./resources/auth.js";
export { InvoiceLinks, paymentParams } from "./resources/invoiceLinks.js";
export { StatsResource, SyncStatusResource } from "./resources/stats.js";
export { STREAM_ARGS_KEYS } from "./contract/invocations.js";
export { parse, type Spec, type Field } from "./schema.js";
export { VERSION } from "./version.js";
