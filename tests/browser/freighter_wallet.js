// A test wallet that answers @stellar/freighter-api the way Freighter's content script does.
//
// freighter-api posts {source: "FREIGHTER_EXTERNAL_MSG_REQUEST", messageId, type, ...} to the
// page's own window and waits for {source: "FREIGHTER_EXTERNAL_MSG_RESPONSE", messagedId, ...}
// (sic: the extension's field name). Signing is done in Python with a test keypair, through
// window.testWalletSign(xdr, networkPassphrase) (Playwright's expose_function). Tests steer it
// with window.__testWallet: {rejectAccess, rejectSign, passphrase, network, requests}.
(() => {
  const wallet = (window.__testWallet = Object.assign(
    { allowed: false, rejectAccess: false, rejectSign: false, requests: [] },
    __CONFIG__,
  ));
  const declined = { apiError: { code: -4, message: "The user rejected this request." } };

  window.addEventListener("message", async (event) => {
    const data = event.data;
    if (event.source !== window || !data || data.source !== "FREIGHTER_EXTERNAL_MSG_REQUEST") return;
    const reply = (body) =>
      window.postMessage(
        { source: "FREIGHTER_EXTERNAL_MSG_RESPONSE", messagedId: data.messageId, ...body },
        window.location.origin,
      );
    wallet.requests.push(data.type);
    switch (data.type) {
      case "REQUEST_CONNECTION_STATUS":
        return reply({ isConnected: true });
      case "REQUEST_ALLOWED_STATUS":
        return reply({ isAllowed: wallet.allowed });
      case "REQUEST_ACCESS":
        if (wallet.rejectAccess) return reply({ publicKey: "", ...declined });
        wallet.allowed = true;
        return reply({ publicKey: wallet.address });
      case "REQUEST_PUBLIC_KEY":
        return reply({ publicKey: wallet.allowed ? wallet.address : "" });
      case "REQUEST_NETWORK_DETAILS":
        return reply({
          networkDetails: {
            network: wallet.network,
            networkName: wallet.network,
            networkUrl: "https://horizon.example.test",
            networkPassphrase: wallet.passphrase,
          },
        });
      case "SUBMIT_TRANSACTION": {
        if (wallet.rejectSign) return reply({ signedTransaction: "", signerAddress: "", ...declined });
        // Freighter signs with the network it is on (refusing another is its own check).
        const signed = await window.testWalletSign(data.transactionXdr, wallet.passphrase);
        return reply({ signedTransaction: signed, signerAddress: wallet.address });
      }
      default:
        return reply({ apiError: { code: -1, message: `unsupported request ${data.type}` } });
    }
  });
})();
