// The background-removal Web Worker (a module worker), where sites and the page send their images.
// Thin: the engine is static/engine/engine.js; the message protocol is in README.md.
import { startEngine } from "./static/engine/engine.js";

startEngine(new URL(import.meta.url));
