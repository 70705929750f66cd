// Replaces the `form-data` package in certloop's Lambda bundles (esbuild alias, see
// infra/certloop/certloop-function.ts). axios loads `form-data` (and through it mime-db,
// 137 KB) at start only to build multipart bodies, which ACME never sends. Exporting
// Node's built-in WHATWG FormData keeps that axios feature working with the runtime's
// own class instead.
module.exports = globalThis.FormData;
