import { StrKey } from "@stellar/stellar-sdk";
import type { AmountInput, StreamRef } from "./types.js";

export const U32_MAX = 2 ** 32 - 1;
export const U64_MAX = 2n ** 64n - 1n;
export const I128_MAX = 2n ** 127n - 1n;
export const I128_MIN = -(2n ** 127n);
/** A Soroban `Symbol` (what the contract's `memo` is). */
export const MEMO_PATTERN = /^[A-Za-z0-9_]{1,32}$/;

const NAMES: Record<string, string> = { G: "G... account", C: "C... contract", M: "M... muxed account" };

/** `value` if it is a valid StrKey of one of `kinds` (G account, C contract, M muxed). */
export function checkAddress(value: unknown, field: string, kinds = "GC"): string {
  const ok =
    typeof value === "string" &&
    [...kinds].some((k) =>
      k === "G"
        ? StrKey.isValidEd25519PublicKey(value)
        : k === "C"
          ? StrKey.isValidContract(value)
          : StrKey.isValidMed25519PublicKey(value),
    );
  if (!ok) {
    const wanted = [...kinds].map((k) => NAMES[k]).join(" or ");
    throw new TypeError(`${field} must be a valid Stellar ${wanted} address, got ${JSON.stringify(value)}`);
  }
  return value as string;
}

/** An amount as a `bigint` (refuses fractions and unsafe numbers). */
export function toBigInt(value: AmountInput | string, field: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`${field} must be an integer (use a bigint for large amounts)`);
    return BigInt(value);
  }
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  throw new TypeError(`${field} must be a bigint of token base units, got ${String(value)}`);
}

export function checkRange(value: bigint, min: bigint, max: bigint, field: string): bigint {
  if (value < min || value > max) throw new RangeError(`${field} must be in [${min}, ${max}], got ${value}`);
  return value;
}

export function checkUint(value: unknown, max: bigint, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || BigInt(value) > max) {
    throw new RangeError(`${field} must be an integer in [0, ${max}], got ${String(value)}`);
  }
  return value;
}

/** `[contract id, on-chain id]` from a public id `"C...-42"` or a bare on-chain id. */
export function splitStreamId(streamId: StreamRef, defaultContract: string | null): [string, number] {
  let contract: string | null;
  let number: string;
  if (typeof streamId === "number" || typeof streamId === "bigint") {
    contract = defaultContract;
    number = String(streamId);
  } else if (typeof streamId === "string") {
    const dash = streamId.lastIndexOf("-");
    contract = dash >= 0 ? streamId.slice(0, dash) : defaultContract;
    number = dash >= 0 ? streamId.slice(dash + 1) : streamId;
  } else {
    throw new TypeError("streamId must be '<contract>-<id>' or an integer");
  }
  if (contract === null) {
    throw new TypeError(`stream id ${String(streamId)} names no contract: pass '<contract>-<id>' or set contractId`);
  }
  checkAddress(contract, "stream contract", "C");
  if (!/^\d+$/.test(number) || BigInt(number) > U64_MAX) {
    throw new RangeError(`the on-chain stream id in ${String(streamId)} must be a u64`);
  }
  return [contract, Number(number)];
}

export function pathSegment(value: unknown, name: string): string {
  if (typeof value !== "string" || !value || value.includes("/")) {
    throw new TypeError(`${name} must be a non-empty string without '/', got ${JSON.stringify(value)}`);
  }
  return encodeURIComponent(value);
}
