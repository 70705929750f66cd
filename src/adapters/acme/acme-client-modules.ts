/**
 * The parts of acme-client certloop uses, loaded from their own modules instead of the
 * package index. The index also loads `crypto/forge.js` (the legacy node-forge API,
 * 298 KB minified, and work at load time), which nothing here needs: importing the
 * modules directly keeps node-forge out of every function bundle and out of cold start.
 * The package has no `exports` map, so these paths are part of what it publishes; a
 * test (test/unit/adapters/acme-client-modules.test.ts) checks they are the very
 * objects the index exports, so an upgrade that moves them fails loudly.
 */

import acmeAxios from 'acme-client/src/axios.js';
import AcmeClient from 'acme-client/src/client.js';
import acmeCrypto from 'acme-client/src/crypto/index.js';

export type { Authorization, Client, Order } from 'acme-client';
export { AcmeClient, acmeAxios, acmeCrypto };
