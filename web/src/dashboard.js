// The issuer dashboard (/app): sign in with a wallet (SEP-10), create, share and track links.
//
// It uses the public JSON API with the JWT the login gives (kept in sessionStorage, so it ends
// with the tab); a 401 from any call signs out and says why.
import { durationWords, toBaseUnits, tokenUnits, utcIso } from "./format.js";
import { capitalized, errorOf } from "./messages.js";
import { Kit, networkName, notInstalled, renderPicker, startKit, walletError, wallets } from "./wallets.js";

const STORE = "stellarstream.session";
const PAGE_SIZE = 10;
const CANCELABLE = new Set(["DRAFT", "SIGNED"]);
const DELETABLE = new Set(["DRAFT", "EXPIRED", "CANCELED"]);
const STATUS_TEXT = {
  DRAFT: "Awaiting payment",
  SIGNED: "Submitted",
  COMPLETED: "Paid",
  EXPIRED: "Expired",
  CANCELED: "Canceled",
};

const $ = (id) => document.getElementById(id);
const data = () => $("app").dataset;
let session = null; // {token, account, expiresAt}
let links = []; // what the list shows, newest first
let nextCursor = null;
let requested = 0; // the newest list request: an older answer arriving later is dropped
let linksPending = 0; // list requests in flight: a poll waits for them instead of superseding
let shown = false; // the list has been rendered once since signing in
const expanded = new Set();
const armed = new Set(); // "cancel:<id>" / "delete:<id>": asked once, confirmed by a second click

function tokensById() {
  const list = JSON.parse(data().tokens || "[]");
  return Object.fromEntries(list.map((t) => [t.address, t]));
}

// The token of a link or stream: the page's list, else the API's tokenInfo (symbol and
// decimals the server knows), else the short address with 7 decimals.
function tokenOf(tokens, address, info) {
  if (tokens[address]) return tokens[address];
  const short = address.slice(0, 4) + "…" + address.slice(-4);
  return { label: (info && info.symbol) || short, decimals: info ? info.decimals : 7 };
}

function message(id, text) {
  const element = $(id);
  if (!element) return;
  element.textContent = text || "";
  element.hidden = !text;
}

// --- session ---

function load() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORE) || "null");
    if (stored && Date.parse(stored.expiresAt) > Date.now()) return stored;
  } catch {
    // a damaged entry: sign in again
  }
  sessionStorage.removeItem(STORE);
  return null;
}

function signedIn(value) {
  session = value;
  sessionStorage.setItem(STORE, JSON.stringify(value));
  $("signin").hidden = true;
  $("workspace").hidden = false;
  $("account").textContent = value.account;
  if (!$("f-receiver").value) $("f-receiver").value = value.account;
  $("csv-export").href = `/api/v1/streams/export.csv?address=${encodeURIComponent(value.account)}`;
  refreshLinks(true);
  refreshStreams();
  refreshWebhooks();
}

function signOut(reason) {
  session = null;
  links = [];
  nextCursor = null;
  shown = false;
  sessionStorage.removeItem(STORE);
  $("workspace").hidden = true;
  $("signin").hidden = false;
  $("signin-picker").hidden = true;
  $("signin-button").disabled = false;
  $("links-list").replaceChildren();
  $("streams-list").replaceChildren();
  $("webhooks-list").replaceChildren();
  $("webhook-secret").hidden = true;
  streamsShown = "";
  $("created").hidden = true;
  message("signin-status", "");
  message("signin-error", reason || "");
}

/** Thrown by `api` when the session it was called with has ended; never shown to the user. */
class SignedOut extends Error {
  constructor() {
    super("signed out");
  }
}

// Refreshes run without a caller to catch for them; the session ending under them is not an error.
window.addEventListener("unhandledrejection", (event) => {
  if (event.reason instanceof SignedOut) event.preventDefault();
});

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const asked = session;
  if (asked) headers.Authorization = "Bearer " + asked.token;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    ...options,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  // Several calls run at once: the first 401 signs out, the others end the same way, quietly.
  if (asked && (response.status === 401 || session !== asked)) {
    if (session === asked) signOut("Your session has expired: sign in again to continue.");
    throw new SignedOut();
  }
  return response;
}

async function openSignIn() {
  message("signin-error", "");
  $("signin-button").disabled = true;
  message("signin-status", "Looking for wallets in this browser…");
  renderPicker($("signin-wallets"), await wallets(), signIn);
  message("signin-status", "");
  $("signin-picker").hidden = false;
  const first = $("signin-wallets").querySelector("button");
  if (first) first.focus();
}

async function signIn(wallet) {
  const fail = (text) => {
    message("signin-status", "");
    message("signin-error", text);
    $("signin-button").disabled = false;
  };
  message("signin-error", "");
  if (!wallet.isAvailable) return fail(notInstalled(wallet.name, wallet.url));
  $("signin-picker").hidden = true;
  message("signin-status", `Connecting to ${wallet.name}…`);
  let address;
  try {
    Kit.setWallet(wallet.id);
    ({ address } = await Kit.fetchAddress());
  } catch (error) {
    return fail(walletError(error, wallet.name, "connect"));
  }
  const passphrase = data().networkPassphrase;
  try {
    const { networkPassphrase } = await Kit.getNetwork();
    if (networkPassphrase && networkPassphrase !== passphrase) {
      return fail(
        `${wallet.name} is set to ${networkName(networkPassphrase)}, but this server works on ` +
          `${networkName(passphrase)}. Switch the network in ${wallet.name}, then sign in again.`,
      );
    }
  } catch {
    // Not every wallet tells its network; the server rejects a challenge signed for another.
  }
  message("signin-status", `Sign the login challenge in ${wallet.name} (it moves no funds)…`);
  try {
    const challenge = await (await fetch(`/api/v1/auth/challenge?account=${encodeURIComponent(address)}`)).json();
    if (!challenge.transaction) throw new Error(challenge.error?.message || "no challenge");
    const { signedTxXdr } = await Kit.signTransaction(challenge.transaction, {
      networkPassphrase: challenge.network_passphrase,
      address,
    });
    const response = await fetch("/api/v1/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ transaction: signedTxXdr }),
    });
    if (!response.ok) return fail("The server refused the login: " + (await errorOf(response)).message + ".");
    const token = await response.json();
    message("signin-status", "");
    signedIn({ token: token.token, account: address, expiresAt: token.expires_at || token.expiresAt });
  } catch (error) {
    fail(walletError(error, wallet.name, "sign"));
  }
}

// --- creating a link ---

function fieldError(name, text) {
  const input = document.querySelector(`#create-form [name="${name}"]`);
  if (input) input.setAttribute("aria-invalid", text ? "true" : "false");
  message("e-" + name, text);
}

function clearFieldErrors() {
  for (const name of ["receiver", "tokenAddress", "amount", "duration", "description", "pdfUrl", "expiresAt"]) {
    fieldError(name, "");
  }
  message("create-error", "");
}

function selectedToken() {
  return tokensById()[$("f-token").value];
}

function amountHint() {
  const token = selectedToken();
  const text = $("f-amount").value.trim();
  let hint = token ? `${token.label} has ${token.decimals} decimals.` : "";
  if (token && text) {
    try {
      hint = `= ${toBaseUnits(text, token.decimals)} base units (${token.decimals} decimals)`;
    } catch {
      // the error appears on submit
    }
  }
  $("h-amount").textContent = hint;
}

function duration() {
  const preset = $("f-duration").value;
  if (preset !== "custom") return Number(preset);
  const value = Number($("f-duration-value").value);
  if (!Number.isInteger(value) || value < 1) throw new Error("enter a whole number, 1 or more");
  return value * Number($("f-duration-unit").value);
}

async function create(event) {
  event.preventDefault();
  clearFieldErrors();
  const token = selectedToken();
  const body = {
    receiver: $("f-receiver").value.trim(),
    tokenAddress: $("f-token").value,
  };
  let invalid = false;
  try {
    body.amount = toBaseUnits($("f-amount").value.trim(), token.decimals);
  } catch (error) {
    fieldError("amount", capitalized(error.message));
    invalid = true;
  }
  try {
    body.duration = duration();
  } catch (error) {
    fieldError("duration", capitalized(error.message));
    invalid = true;
  }
  const description = $("f-description").value.trim();
  if (description) body.description = description;
  const pdf = $("f-pdf").value.trim();
  if (pdf) body.pdfUrl = pdf;
  const expires = $("f-expires").value;
  if (expires) body.expiresAt = new Date(expires).toISOString();
  if (invalid) return;
  $("create-button").disabled = true;
  try {
    const response = await api("/api/v1/invoice-links", { method: "POST", body });
    if (!response.ok) {
      const error = await errorOf(response);
      if (error.field && $("e-" + error.field)) fieldError(error.field, capitalized(error.message));
      else message("create-error", capitalized(error.message));
      return;
    }
    created(await response.json());
    $("f-amount").value = "";
    $("f-description").value = "";
    $("f-pdf").value = "";
    amountHint();
    refreshLinks(true);
  } catch (error) {
    if (!(error instanceof SignedOut)) message("create-error", "Could not reach the server: " + error.message);
  } finally {
    $("create-button").disabled = false;
  }
}

function created(link) {
  $("share-url").value = link.shareUrl;
  $("open-share").href = `/invoice/${link.slug}`;
  $("share-qr").src = `/invoice/${link.slug}/qr.svg`;
  message("copy-status", "");
  $("created").hidden = false;
  $("created").focus();
}

async function copyShare() {
  const url = $("share-url").value;
  try {
    await navigator.clipboard.writeText(url);
    message("copy-status", "Copied.");
  } catch {
    $("share-url").select();
    message("copy-status", "Press Ctrl+C (or long-press) to copy the selected link.");
  }
}

// --- the list ---

let loadingMore = false; // "Show more" in flight: a poll now would drop its answer

async function refreshLinks(reset) {
  if (!session || (reset && loadingMore)) return;
  if (!reset) loadingMore = true;
  const status = $("links-status").value;
  const query = new URLSearchParams({ limit: String(reset ? Math.max(PAGE_SIZE, links.length) : PAGE_SIZE) });
  if (status) query.set("status", status);
  if (!reset && nextCursor) query.set("cursor", nextCursor);
  const ticket = ++requested;
  linksPending += 1;
  try {
    const response = await api("/api/v1/invoice-links?" + query);
    if (ticket !== requested) return;
    if (!response.ok) {
      message("links-error", capitalized((await errorOf(response)).message));
      return;
    }
    const page = await response.json();
    if (ticket !== requested) return;
    const fresh = reset ? page.data : links.concat(page.data);
    const changed = JSON.stringify(fresh) !== JSON.stringify(links) || page.nextCursor !== nextCursor;
    links = fresh;
    nextCursor = page.nextCursor;
    message("links-error", "");
    if (changed || !shown) renderLinks(); // only on a change: a keyboard user keeps their focus
  } catch (error) {
    if (!(error instanceof SignedOut)) message("links-error", "Could not reach the server; retrying.");
  } finally {
    linksPending -= 1;
    if (!reset) loadingMore = false;
  }
}

function term(list, name, value, code) {
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  if (code) {
    const c = document.createElement("code");
    c.textContent = value;
    dd.append(c);
  } else {
    dd.textContent = value;
  }
  list.append(dt, dd);
}

/** The paying stream's payer and amounts (the server's figures), added to `dl` once read. */
async function payment(dl, link, token) {
  const contract = data().contractId;
  if (!contract) return;
  const response = await api(`/api/v1/streams/${contract}-${link.streamId}`).catch(() => null);
  if (!response || !response.ok) return;
  const stream = await response.json();
  term(dl, "Payer", stream.sender, true);
  term(dl, "Streamed so far", `${tokenUnits(stream.streamedAmount, token.decimals)} ${token.label} of ${tokenUnits(stream.totalAmount, token.decimals)} (as of ${utcIso(new Date(stream.asOf * 1000).toISOString())})`);
}

function actionButton(label, action, link) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  const key = `${action}:${link.id}`;
  button.textContent = armed.has(key) ? `Confirm: ${label.toLowerCase()}` : label;
  button.setAttribute("aria-label", `${button.textContent}: ${link.description || link.slug}`);
  button.dataset.action = action;
  button.addEventListener("click", () => act(action, link));
  return button;
}

async function act(action, link) {
  const key = `${action}:${link.id}`;
  if (!armed.has(key)) {
    armed.add(key);
    renderLinks();
    return;
  }
  armed.delete(key);
  const response =
    action === "cancel"
      ? await api(`/api/v1/invoice-links/${link.id}/status`, { method: "PATCH", body: { status: "CANCELED" } })
      : await api(`/api/v1/invoice-links/${link.id}`, { method: "DELETE" });
  if (!response.ok) message("links-error", capitalized((await errorOf(response)).message));
  refreshLinks(true);
}

function renderLinks() {
  shown = true;
  const tokens = tokensById();
  const list = $("links-list");
  list.replaceChildren();
  for (const link of links) {
    const token = tokenOf(tokens, link.tokenAddress, link.tokenInfo);
    const item = document.createElement("li");
    item.dataset.slug = link.slug;
    item.dataset.status = link.status;
    const head = document.createElement("div");
    head.className = "link-head";
    const amount = document.createElement("span");
    amount.className = "link-amount";
    amount.textContent = `${tokenUnits(link.amount, token.decimals)} ${token.label}`;
    const badge = document.createElement("span");
    badge.className = "badge " + link.status;
    badge.textContent = STATUS_TEXT[link.status] || link.status;
    head.append(amount, badge);
    const what = document.createElement("p");
    what.className = "hint";
    what.textContent = `${link.description || "No description"} · created ${utcIso(link.createdAt)}`;
    const share = document.createElement("a");
    share.href = `/invoice/${link.slug}`;
    share.target = "_blank";
    share.rel = "noopener noreferrer";
    share.textContent = link.shareUrl;
    const actions = document.createElement("div");
    actions.className = "link-actions";
    const details = document.createElement("button");
    details.type = "button";
    details.className = "secondary";
    details.textContent = expanded.has(link.id) ? "Hide details" : "Details";
    details.setAttribute("aria-expanded", String(expanded.has(link.id)));
    details.setAttribute("aria-label", `${details.textContent}: ${link.description || link.slug}`);
    details.addEventListener("click", () => {
      if (expanded.has(link.id)) expanded.delete(link.id);
      else expanded.add(link.id);
      renderLinks();
    });
    actions.append(details);
    if (CANCELABLE.has(link.status)) actions.append(actionButton("Cancel", "cancel", link));
    if (DELETABLE.has(link.status)) actions.append(actionButton("Delete", "delete", link));
    item.append(head, what, share, actions);
    if (expanded.has(link.id)) {
      const dl = document.createElement("dl");
      term(dl, "Receiver", link.receiver, true);
      term(dl, "Amount", `${link.amount} base units`);
      term(dl, "Streamed over", durationWords(link.duration));
      if (link.expiresAt) term(dl, "Expires", utcIso(link.expiresAt));
      if (link.txHash) term(dl, "Transaction", link.txHash, true);
      if (link.streamId !== null && link.streamId !== undefined) {
        term(dl, "Stream", `#${link.streamId}`);
        payment(dl, link, token);
      }
      if (link.completedBy) term(dl, "Completed by", link.completedBy === "chain" ? "the chain (indexed payment)" : "you (marked by hand)");
      if (link.lastFailure) term(dl, "Last failed payment", `${link.lastFailure.reason} (${link.lastFailure.txHash})`);
      item.append(dl);
    }
    list.append(item);
  }
  $("links-empty").hidden = links.length > 0;
  $("links-more").hidden = !nextCursor;
}

// --- my streams ---

let streamsShown = "";

async function refreshStreams() {
  if (!session) return;
  const query = new URLSearchParams({
    address: session.account,
    direction: $("streams-direction").value,
    limit: "20",
  });
  try {
    const response = await api("/api/v1/streams?" + query);
    if (!response.ok) {
      message("streams-error", capitalized((await errorOf(response)).message));
      return;
    }
    const page = await response.json();
    message("streams-error", "");
    const key = JSON.stringify(page.data);
    if (key !== streamsShown) renderStreams(page.data);
    streamsShown = key;
  } catch (error) {
    if (!(error instanceof SignedOut)) message("streams-error", "Could not reach the server; retrying.");
  }
}

function renderStreams(streams) {
  const tokens = tokensById();
  const list = $("streams-list");
  list.replaceChildren();
  for (const stream of streams) {
    const token = tokenOf(tokens, stream.token, stream.tokenInfo);
    const units = (value) => `${tokenUnits(value, token.decimals)} ${token.label}`;
    const incoming = stream.receiver === session.account;
    const item = document.createElement("li");
    item.dataset.stream = stream.id;
    item.dataset.status = stream.status;
    const head = document.createElement("div");
    head.className = "link-head";
    const amount = document.createElement("span");
    amount.className = "link-amount";
    amount.textContent = `${incoming ? "From" : "To"} ${incoming ? stream.sender : stream.receiver}`;
    const badge = document.createElement("span");
    badge.className = "badge " + stream.status;
    badge.textContent = stream.status;
    head.append(amount, badge);
    const dl = document.createElement("dl");
    term(dl, "Stream", `#${stream.streamId}${stream.memo ? " · memo " + stream.memo : ""}`);
    term(dl, "Total", units(stream.totalAmount));
    term(dl, "Streamed", `${units(stream.streamedAmount)} as of ${utcIso(new Date(stream.asOf * 1000).toISOString())}`);
    term(dl, "Withdrawable", units(stream.withdrawableAmount));
    term(dl, "Ends", utcIso(new Date(stream.endTime * 1000).toISOString()));
    const history = document.createElement("a");
    history.href = `/api/v1/streams/${encodeURIComponent(stream.id)}/history`;
    history.textContent = "History (JSON)";
    item.append(head, dl, history);
    list.append(item);
  }
  $("streams-empty").hidden = streams.length > 0;
}

// --- webhooks ---

const openDeliveries = new Set();

async function addWebhook(event) {
  event.preventDefault();
  message("e-url", "");
  message("webhooks-error", "");
  const body = { url: $("w-url").value.trim() };
  const description = $("w-description").value.trim();
  if (description) body.description = description;
  const response = await api("/api/v1/webhooks", { method: "POST", body });
  if (!response.ok) {
    const error = await errorOf(response);
    if (error.field === "url") message("e-url", capitalized(error.message));
    else message("webhooks-error", capitalized(error.message));
    return;
  }
  showSecret((await response.json()).secret, "");
  $("w-url").value = "";
  $("w-description").value = "";
  refreshWebhooks();
}

function showSecret(secret, note) {
  $("webhook-secret-value").value = secret;
  $("webhook-secret-note").textContent = note;
  $("webhook-secret").hidden = false;
}

async function rotateSecret(endpoint) {
  message("webhooks-error", "");
  const response = await api(`/api/v1/webhooks/${endpoint.id}/rotate-secret`, { method: "POST" });
  if (!response.ok) {
    message("webhooks-error", capitalized((await errorOf(response)).message));
    return;
  }
  const rotated = await response.json();
  const until = utcIso(rotated.previousSecretExpiresAt);
  showSecret(rotated.secret, `New secret for ${endpoint.url}: the previous one also signs until ${until}.`);
}

async function refreshWebhooks() {
  if (!session) return;
  const response = await api("/api/v1/webhooks");
  if (!response.ok) {
    message("webhooks-error", capitalized((await errorOf(response)).message));
    return;
  }
  const endpoints = (await response.json()).data;
  const list = $("webhooks-list");
  list.replaceChildren();
  for (const endpoint of endpoints) {
    const item = document.createElement("li");
    item.dataset.webhook = endpoint.id;
    const url = document.createElement("code");
    url.textContent = endpoint.url;
    const what = document.createElement("p");
    what.className = "hint";
    what.textContent = `${endpoint.description || "No description"} · events: ${(endpoint.eventTypes || ["all"]).join(", ")}`;
    const actions = document.createElement("div");
    actions.className = "link-actions";
    const show = document.createElement("button");
    show.type = "button";
    show.className = "secondary";
    show.textContent = "Deliveries";
    show.setAttribute("aria-label", `Deliveries: ${endpoint.url}`);
    show.addEventListener("click", () => {
      if (openDeliveries.has(endpoint.id)) openDeliveries.delete(endpoint.id);
      else openDeliveries.add(endpoint.id);
      refreshWebhooks();
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary";
    remove.dataset.action = "delete-webhook";
    const key = `webhook:${endpoint.id}`;
    remove.textContent = armed.has(key) ? "Confirm: delete" : "Delete";
    remove.setAttribute("aria-label", `${remove.textContent}: ${endpoint.url}`);
    remove.addEventListener("click", async () => {
      if (!armed.has(key)) {
        armed.add(key);
        refreshWebhooks();
        return;
      }
      armed.delete(key);
      await api(`/api/v1/webhooks/${endpoint.id}`, { method: "DELETE" });
      refreshWebhooks();
    });
    const rotate = document.createElement("button");
    rotate.type = "button";
    rotate.className = "secondary";
    rotate.dataset.action = "rotate-secret";
    const rotateKey = `rotate:${endpoint.id}`;
    rotate.textContent = armed.has(rotateKey) ? "Confirm: new secret" : "Rotate secret";
    rotate.setAttribute("aria-label", `${rotate.textContent}: ${endpoint.url}`);
    rotate.addEventListener("click", async () => {
      if (!armed.has(rotateKey)) {
        armed.add(rotateKey);
        refreshWebhooks();
        return;
      }
      armed.delete(rotateKey);
      await rotateSecret(endpoint);
      refreshWebhooks();
    });
    actions.append(show, rotate, remove);
    item.append(url, what, actions);
    if (openDeliveries.has(endpoint.id)) item.append(await deliveries(endpoint.id));
    list.append(item);
  }
}

async function deliveries(id) {
  const box = document.createElement("ul");
  box.className = "deliveries";
  const response = await api(`/api/v1/webhooks/${id}/deliveries?limit=20`);
  const page = response.ok ? await response.json() : { data: [] };
  if (!page.data.length) {
    const none = document.createElement("li");
    none.textContent = "No deliveries yet.";
    box.append(none);
  }
  for (const d of page.data) {
    const row = document.createElement("li");
    row.dataset.delivery = String(d.id);
    row.dataset.status = d.status;
    const code = d.lastStatusCode ? `, last answer HTTP ${d.lastStatusCode}` : "";
    row.textContent = `${d.eventType}: ${d.status} after ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}${code} (${utcIso(d.createdAt)})`;
    box.append(row);
  }
  return box;
}

// --- wiring ---

function boot() {
  startKit(data().networkPassphrase);
  const select = $("f-token");
  for (const token of Object.values(tokensById())) {
    const option = document.createElement("option");
    option.value = token.address;
    option.textContent = `${token.label} (${token.decimals} decimals) ${token.address}`;
    select.append(option);
  }
  $("signin-button").addEventListener("click", openSignIn);
  $("signout").addEventListener("click", () => signOut("You signed out."));
  $("create-form").addEventListener("submit", create);
  $("f-amount").addEventListener("input", amountHint);
  $("f-token").addEventListener("change", amountHint);
  $("f-duration").addEventListener("change", () => {
    $("custom-duration").hidden = $("f-duration").value !== "custom";
  });
  $("copy-share").addEventListener("click", copyShare);
  $("webhook-form").addEventListener("submit", addWebhook);
  $("links-status").addEventListener("change", () => refreshLinks(true));
  $("links-more").addEventListener("click", () => refreshLinks(false));
  $("streams-direction").addEventListener("change", () => {
    streamsShown = "";
    refreshStreams();
  });
  amountHint();
  const stored = load();
  if (stored) signedIn(stored);
  setInterval(() => {
    if (session && Date.parse(session.expiresAt) <= Date.now()) signOut("Your session has expired: sign in again to continue.");
    else if (session && !document.hidden) {
      // A slow server: let the answer in flight land rather than drop it for a newer request
      // (polls superseding each other would never show anything).
      if (!linksPending) refreshLinks(true);
      refreshStreams();
    }
  }, Number(data().pollMs) || 3000);
}

boot();
