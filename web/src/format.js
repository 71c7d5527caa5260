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
