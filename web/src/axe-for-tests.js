// axe-core for the browser tests' accessibility check only (never served by the product).
import axe from "axe-core";

window.axe = axe;
