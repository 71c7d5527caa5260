// The invoice page's bundle: the browser-extension and web wallets.
import { boot } from "./app.js";

boot();
