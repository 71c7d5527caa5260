// Stellar Wallets Kit: the browser wallets a payer can use, and their errors in plain words.
//
// The kit's own modal is not used: its wallet rows are click-only list items (not reachable by
// keyboard), its icons load from a third-party host, and its styles are injected at run time
// (a style-src exception under our CSP). The page lists the kit's wallets as buttons instead and
// drives the kit's API (setWallet, fetchAddress, getNetwork, signTransaction).
import { StellarWalletsKit } from "@creit.tech/stellar-wallets-kit/sdk";
import { AlbedoModule } from "@creit.tech/stellar-wallets-kit/modules/albedo";
import { FreighterModule } from "@creit.tech/stellar-wallets-kit/modules/freighter";
import { HanaModule } from "@creit.tech/stellar-wallets-kit/modules/hana";
import { LobstrModule } from "@creit.tech/stellar-wallets-kit/modules/lobstr";
import { RabetModule } from "@creit.tech/stellar-wallets-kit/modules/rabet";
import { xBullModule } from "@creit.tech/stellar-wallets-kit/modules/xbull";

export { StellarWalletsKit as Kit };

const NETWORK_NAMES = {
  "Public Global Stellar Network ; September 2015": "Mainnet (the public network)",
  "Test SDF Network ; September 2015": "Testnet",
  "Test SDF Future Network ; October 2022": "Futurenet",
};

export function networkName(passphrase) {
  return NETWORK_NAMES[passphrase] || `the network "${passphrase}"`;
}

/** Start the kit with the wallets we support, plus `extra` modules (WalletConnect). */
export function startKit(networkPassphrase, extra = []) {
  const modules = [
    new FreighterModule(),
    new xBullModule(),
    new AlbedoModule(),
    new LobstrModule(),
    new HanaModule(),
    new RabetModule(),
    ...extra,
  ];
  StellarWalletsKit.init({ modules, network: networkPassphrase });
  return modules;
}

/** The kit's wallets with whether each is usable in this browser. */
export async function wallets() {
  return StellarWalletsKit.refreshSupportedWallets();
}

function text(error) {
  if (!error) return "";
  if (typeof error === "string") return error;
  return String(error.message || error.error?.message || error.ext || "");
}

/** A sentence for a wallet error while doing `what` ("connect" or "sign"). */
export function walletError(error, wallet, what) {
  const message = text(error);
  const code = error && typeof error === "object" ? error.code : undefined;
  if (code === -4 || /reject|declin|denied|cancel|closed/i.test(message)) {
    return what === "sign"
      ? `You declined the request in ${wallet}. Nothing was signed or sent, and the invoice is still payable: you can try again.`
      : `You declined the connection in ${wallet}. Nothing was shared; you can try again.`;
  }
  if (/not (connected|installed|available)/i.test(message)) {
    return notInstalled(wallet);
  }
  const verb = what === "sign" ? "sign the payment" : "connect";
  return `${wallet} could not ${verb}${message ? ": " + message : ""}. Nothing was sent; you can try again.`;
}

export function notInstalled(wallet, url) {
  const where = url ? ` (get it from ${url})` : "";
  return `${wallet} is not installed in this browser${where}. Install it, choose another wallet, or pay from a phone wallet with the QR code below.`;
}

/** Fill `list` (a <ul>) with one button per wallet; `onChoose(wallet)` on a click. */
export function renderPicker(list, found, onChoose) {
  list.replaceChildren();
  for (const wallet of found) {
    const item = document.createElement("li");
    const choose = document.createElement("button");
    choose.type = "button";
    choose.className = "wallet" + (wallet.isAvailable ? "" : " unavailable");
    choose.dataset.wallet = wallet.id;
    const name = document.createElement("span");
    name.className = "wallet-name";
    name.textContent = wallet.name;
    choose.append(name);
    if (!wallet.isAvailable) {
      const note = document.createElement("span");
      note.className = "wallet-note";
      note.textContent = "not installed";
      choose.append(note);
    }
    choose.addEventListener("click", () => onChoose(wallet));
    item.append(choose);
    list.append(item);
  }
}
