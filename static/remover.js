// Deprecated: the embed API moved to static/client/remover.js. This path stays for sites that
// import it from here, and will go in a later version.
export * from "./client/remover.js";
