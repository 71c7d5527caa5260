/**
 * Reading amounts by a token's {@link TokenInfo} (what the API sends as `tokenInfo` on every
 * stream and invoice link): the label people know it by, and base units as an exact decimal
 * string of tokens. No floats: `bigint` arithmetic, exact for any i128.
 */
import type { AmountInput, TokenInfo } from "./types.js";
import { toBigInt } from "./utils.js";

/** `CBMO…YKMI`: an address's first and last four characters (as the API's pages show it). */
export function shortAddress(address: string): string {
  return address.length <= 9 ? address : `${address.slice(0, 4)}…${address.slice(-4)}`;
}

/** The token's symbol, else its short address (`CBMO…YKMI`); Python's `TokenInfo.label`. */
export function tokenLabel(info: Pick<TokenInfo, "address" | "symbol">): string {
  return info.symbol || shortAddress(info.address);
}

/**
 * `amount` base units as an exact decimal string of tokens with `decimals` decimals: `"1.5"`,
 * `"-0.0000015"`, `"42"` (trailing zeros dropped, no exponent, no floats).
 */
export function formatUnits(amount: AmountInput | string, decimals: number): string {
  if (!Number.isSafeInteger(decimals) || decimals < 0) {
    throw new RangeError(`decimals must be an integer >= 0, got ${String(decimals)}`);
  }
  const value = toBigInt(amount, "amount");
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const scale = 10n ** BigInt(decimals);
  const whole = magnitude / scale;
  const fraction = magnitude % scale;
  let text = `${negative ? "-" : ""}${whole}`;
  if (fraction !== 0n) text += `.${fraction.toString().padStart(decimals, "0").replace(/0+$/, "")}`;
  return text;
}

/** `amount` base units of the token as an exact decimal string (`"12345.67"`); Python's `TokenInfo.units`. */
export function tokenUnits(info: Pick<TokenInfo, "decimals">, amount: AmountInput | string): string {
  return formatUnits(amount, info.decimals);
}
