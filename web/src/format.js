// Exact amounts and plain times for the payer's review (never a float for money).

/** Base units (a decimal string or bigint) as token units with `decimals` places, grouped. */
export function tokenUnits(base, decimals) {
  const value = BigInt(base);
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = decimals ? digits.slice(digits.length - decimals).replace(/0+$/, "") : "";
  return (negative ? "-" : "") + whole + (fraction ? "." + fraction : "");
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Unix seconds as "26 Nov 2026, 13:45 UTC" (as stellarstream.api.pages.format.when). */
export function utc(seconds) {
  const d = new Date(Number(seconds) * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** An ISO-8601 time as "26 Nov 2026, 13:45 UTC". */
export function utcIso(text) {
  return utc(Date.parse(text) / 1000);
}

/** Token units typed by a person ("1,000.5") as exact base units (a decimal string). */
export function toBaseUnits(text, decimals) {
  const clean = String(text).replace(/[\s,_]/g, "");
  if (!clean) throw new Error("enter an amount");
  const match = /^(\d*)(?:\.(\d*))?$/.exec(clean);
  if (!match || (!match[1] && !match[2])) throw new Error("enter a number such as 1000 or 12.5");
  const fraction = match[2] || "";
  if (fraction.length > decimals) {
    throw new Error(`this token has ${decimals} decimals: use at most ${decimals} digits after the point`);
  }
  const base = BigInt((match[1] || "0") + fraction.padEnd(decimals, "0"));
  if (base <= 0n) throw new Error("the amount must be more than 0");
  if (base >= 2n ** 127n) throw new Error("the amount is too large for a Stellar token (i128)");
  return base.toString();
}

const UNITS = [["year", 365 * 86400], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

/** 2595600 -> "30 days 1 hour" (as stellarstream.api.pages.format.duration_words). */
export function durationWords(seconds, parts = 2) {
  let rest = Math.floor(Number(seconds));
  if (rest <= 0) return "0 seconds";
  const words = [];
  for (const [name, size] of UNITS) {
    const count = Math.floor(rest / size);
    rest %= size;
    if (count) words.push(`${count} ${name}${count === 1 ? "" : "s"}`);
    if (words.length === parts) break;
  }
  return words.join(" ");
}
