// The invoice page's bundle with WalletConnect (served when a WalletConnect project id is set).
import {
  WalletConnectModule,
  WalletConnectTargetChain,
} from "@creit.tech/stellar-wallets-kit/modules/wallet-connect";
import { boot } from "./app.js";

boot((data) =>
  data.walletconnectProjectId
    ? [
        new WalletConnectModule({
          projectId: data.walletconnectProjectId,
          metadata: {
            name: "StellarStream",
            description: "Pay an invoice as a token stream on Stellar",
            url: window.location.origin,
            icons: [],
          },
          allowedChains: [
            data.networkPassphrase === "Public Global Stellar Network ; September 2015"
              ? WalletConnectTargetChain.PUBLIC
              : WalletConnectTargetChain.TESTNET,
          ],
        }),
      ]
    : [],
);
