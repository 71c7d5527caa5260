// The hosted invoice page: live status, and paying the link from a browser wallet.
//
// Data flows one way: the server renders <main id="invoice"> with what the link is; this script
// asks the server to prepare the payer's transaction, shows in words what will be signed, has
// the wallet sign it, posts the signed envelope to the server (which checks and sends it) and
// swaps in the server's fresh <main> whenever the link's status changes.
import { tokenUnits, utc, utcIso } from "./format.js";
import { capitalized, errorOf } from "./messages.js";
import {
  Kit,
  networkName,
  notInstalled,
  renderPicker,
  startKit,
  walletError,
  wallets,
} from "./wallets.js";

const FINAL = new Set(["COMPLETED", "EXPIRED", "CANCELED", "NOT_FOUND"]);
const XLM_DECIMALS = 7;

let skew = 0; // server clock minus this browser's clock, in ms
let busy = false;
let flow = null; // the payment in progress: {wallet, request}

const $ = (id) => document.getElementById(id);
const root = () => $("invoice");

function countdown(seconds) {
  // as stellarstream.api.pages.format.countdown
  const total = Math.max(0, Math.floor(seconds));
  const days = Math.floor(total / 86400);
  const pad = (n) => String(n).padStart(2, "0");
  const clock = [Math.floor((total % 86400) / 3600), Math.floor((total % 3600) / 60), total % 60]
    .map(pad)
    .join(":");
  return days ? days + (days === 1 ? " day " : " days ") + clock : clock;
}

// --- live status ---

async function refresh() {
  // Only the <main> fragment: a whole page would carry <style> with another nonce.
  const response = await fetch(root().dataset.page + "?part=main", {
    cache: "no-store",
    headers: { Accept: "text/html" },
  });
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = doc.getElementById("invoice");
  if (!fresh) return;
  root().replaceWith(document.adoptNode(fresh));
  if (fresh.dataset.title) document.title = fresh.dataset.title;
  flow = null;
  setup();
  tick();
}

async function poll() {
  const main = root();
  if (!main || busy || flow || FINAL.has(main.dataset.status)) return;
  busy = true;
  try {
    const response = await fetch(main.dataset.api, {
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
    if (response.ok) {
      const link = await response.json();
      if (link.status !== main.dataset.status) await refresh();
    } else if (response.status === 404) {
      await refresh(); // deleted: show the not-found page
    }
  } catch {
    // Offline or the server restarting: the next poll tries again.
  } finally {
    busy = false;
  }
}

function tick() {
  const main = root();
  const element = $("countdown");
  if (!main || !element || !main.dataset.expiresAt) return;
  const left = (Date.parse(main.dataset.expiresAt) - (Date.now() + skew)) / 1000;
  element.textContent = "(" + countdown(left) + " left)";
  if (left <= 0) poll();
}

// --- messages ---

function say(message) {
  const status = $("wallet-status");
  if (status) status.textContent = message;
}

function fail(message) {
  say("");
  const error = $("wallet-error");
  if (error) {
    error.textContent = message;
    error.hidden = false;
  }
  show("wallet-start");
  const button = $("pay-with-wallet");
  if (button) button.disabled = false;
  flow = null;
}

function clearError() {
  const error = $("wallet-error");
  if (error) {
    error.hidden = true;
    error.textContent = "";
  }
}

function show(id) {
  for (const part of ["wallet-start", "wallet-picker", "wallet-review"]) {
    const element = $(part);
    if (element) element.hidden = part !== id;
  }
}

/** A sentence for a failed /transaction or /submit answer. */
function serverError(response, error) {
  if (response.status === 409) {
    if (error.status === "EXPIRED") return "This invoice expired while this page was open: it can no longer be paid. Nothing was sent.";
    if (error.status === "CANCELED") return "The issuer canceled this invoice while this page was open: there is nothing to pay. Nothing was sent.";
    if (error.status === "COMPLETED") return "This invoice has been paid meanwhile. Nothing more was sent.";
    return capitalized(error.message) + ".";
  }
  if (response.status === 503) {
    return "The Stellar network service (RPC) is unreachable right now, so nothing was sent. The invoice is still payable: try again in a minute.";
  }
  if (response.status === 502) {
    return "The Stellar network could not prepare this payment (" + error.message + "). Nothing was sent; try again in a minute.";
  }
  return capitalized(error.message) + ". Nothing was sent.";
}

// --- paying with a wallet ---

function context() {
  const section = $("wallet-pay");
  return section ? section.dataset : null;
}

async function openPicker() {
  clearError();
  const button = $("pay-with-wallet");
  button.disabled = true;
  say("Looking for wallets in this browser…");
  let found;
  try {
    found = await wallets();
  } catch (error) {
    fail("Could not list the wallets of this browser: " + (error.message || error) + ".");
    return;
  }
  renderPicker($("wallet-list"), found, connect);
  say("");
  show("wallet-picker");
  const first = $("wallet-list").querySelector("button");
  if (first) first.focus();
}

async function connect(wallet) {
  clearError();
  if (!wallet.isAvailable) {
    fail(notInstalled(wallet.name, wallet.url));
    return;
  }
  const data = context();
  flow = { wallet };
  show("");
  say(`Connecting to ${wallet.name}…`);
  let address;
  try {
    Kit.setWallet(wallet.id);
    ({ address } = await Kit.fetchAddress());
  } catch (error) {
    fail(walletError(error, wallet.name, "connect"));
    return;
  }
  try {
    const { networkPassphrase } = await Kit.getNetwork();
    if (networkPassphrase && networkPassphrase !== data.networkPassphrase) {
      fail(
        `${wallet.name} is set to ${networkName(networkPassphrase)}, but this invoice is paid on ` +
          `${networkName(data.networkPassphrase)}. Switch the network in ${wallet.name}, then try again. Nothing was sent.`,
      );
      return;
    }
  } catch {
    // Not every wallet tells its network; the server rejects a signature for another one.
  }
  say("Preparing your transaction…");
  let response;
  try {
    response = await fetch(root().dataset.api + "/transaction", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ payer: address }),
    });
  } catch {
    fail("Could not reach this server. Check your connection and try again; nothing was sent.");
    return;
  }
  if (!response.ok) {
    const message = serverError(response, await errorOf(response));
    fail(message);
    if (response.status === 409) setTimeout(refresh, 4000);
    return;
  }
  flow.request = await response.json();
  review(flow.request, wallet);
}

function row(list, term, ...parts) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  for (const part of parts) {
    if (part && part.code) {
      const code = document.createElement("code");
      code.textContent = part.code;
      dd.append(code);
    } else {
      dd.append(document.createTextNode(part));
    }
  }
  list.append(dt, dd);
}

function review(request, wallet) {
  const data = context();
  const list = $("review-list");
  list.replaceChildren();
  row(list, "You pay", `${data.amountUnits} ${data.tokenLabel} (${data.amountBase} base units)`);
  row(list, "Token", `${data.tokenLabel} `, { code: data.token });
  row(list, "To", { code: data.receiver });
  row(list, "Streamed", `from ${utc(request.startTime)} to ${utc(request.endTime)} (${data.durationWords})`);
  row(list, "Memo", { code: request.memo });
  row(list, "From your account", { code: request.payer });
  row(list, "Network", networkName(request.networkPassphrase));
  row(list, "Network fee", `at most ${tokenUnits(request.fee, XLM_DECIMALS)} XLM (${request.fee} stroops)`);
  row(list, "Valid until", utcIso(request.expiresAt));
  $("review-call").textContent =
    `${wallet.name} will ask you to sign one transaction: create_stream on contract ${request.contractId}, ` +
    `which locks ${data.amountUnits} ${data.tokenLabel} from your account and streams it to the receiver second by second.`;
  $("sign").textContent = `Sign with ${wallet.name}`;
  say("");
  show("wallet-review");
  $("sign").focus();
}

async function sign() {
  const { wallet, request } = flow || {};
  if (!request) return;
  clearError();
  show("");
  say(`Waiting for your signature in ${wallet.name}…`);
  let signed;
  try {
    ({ signedTxXdr: signed } = await Kit.signTransaction(request.xdr, {
      networkPassphrase: request.networkPassphrase,
      address: request.payer,
    }));
  } catch (error) {
    fail(walletError(error, wallet.name, "sign"));
    return;
  }
  say("Submitting your payment to the network…");
  let response;
  try {
    response = await fetch(root().dataset.api + "/submit", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ signedXdr: signed }),
    });
  } catch {
    fail("Could not reach this server to submit the payment. Nothing was sent; try again.");
    return;
  }
  if (!response.ok) {
    fail(serverError(response, await errorOf(response)));
    return;
  }
  const result = await response.json();
  if (result.status === "FAILED") {
    fail(
      `The network did not accept the payment: ${result.reason}. Nothing was paid and the invoice ` +
        "is still payable: try again.",
    );
    return;
  }
  say("Submitted.");
  await refresh();
}

function cancel() {
  flow = null;
  clearError();
  say("");
  show("wallet-start");
  const button = $("pay-with-wallet");
  if (button) {
    button.disabled = false;
    button.focus();
  }
}

// --- wiring ---

function setup() {
  const main = root();
  if (!main) return;
  const serverNow = Date.parse(main.dataset.serverNow || "");
  if (!Number.isNaN(serverNow)) skew = serverNow - Date.now();
  const reported = $("mark-submitted");
  if (reported) reported.addEventListener("click", submitted);
  const section = $("wallet-pay");
  if (section) {
    section.hidden = false; // without JavaScript, the QR / SEP-7 form below is the way to pay
    $("pay-with-wallet").addEventListener("click", openPicker);
    $("picker-cancel").addEventListener("click", cancel);
    $("review-cancel").addEventListener("click", cancel);
    $("sign").addEventListener("click", sign);
  }
}

async function submitted(event) {
  const button = event.currentTarget;
  const failure = $("submit-error");
  button.disabled = true;
  try {
    const response = await fetch(root().dataset.api + "/submitted", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ txHash: button.dataset.txHash }),
    });
    if (response.status === 202) {
      if (failure) {
        failure.textContent = "The network does not show this transaction yet: this page checks again and updates by itself.";
        failure.hidden = false;
      }
      button.disabled = false;
      return;
    }
    if (response.ok || response.status === 409) {
      await refresh();
      return;
    }
    const error = await errorOf(response);
    throw new Error(error.message);
  } catch (error) {
    if (failure) {
      failure.textContent = "Could not record the submission: " + error.message;
      failure.hidden = false;
    }
    button.disabled = false;
  }
}

/** Start the page; `extraModules(data)` adds wallet modules (WalletConnect) from page data. */
export function boot(extraModules = () => []) {
  const data = context() || {};
  startKit(data.networkPassphrase || "Test SDF Network ; September 2015", extraModules(data));
  setup();
  tick();
  setInterval(poll, Number(root()?.dataset.pollMs) || 3000);
  setInterval(tick, 1000);
}
