import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ENV } from '../../src/config/environment.js';
import {
  type PebbleOptions,
  type PebbleServer,
  startPebble,
} from '../../src/local/pebble-server.js';

/**
 * Starts one pebble + challtestsrv for the enclosing describe block (or file) and stops
 * it afterwards. Returns a getter, since the server exists only once beforeAll ran.
 */
export function usePebble(options: PebbleOptions = {}): () => PebbleServer {
  let server: PebbleServer | undefined;
  beforeAll(async () => {
    server = await startPebble(options);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('pebble is not running: usePebble() getter called outside a test');
    return server;
  };
}

/** A fresh DNS label, so that tests sharing one challtestsrv never see each other's names. */
export function uniqueLabel(prefix = 't'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * The functions' configuration variables (src/config/environment.ts) for a runtime on
 * this machine: the given table and issuers, names under example.test, certificates in
 * `<dir>/secrets`, DNS-01 on `dns`'s challtestsrv. Spread over process.env by the caller.
 */
export function localRuntimeEnv(options: {
  tableName: string;
  issuers: Record<string, unknown>;
  dir: string;
  dns: PebbleServer;
}): Record<string, string> {
  return {
    [ENV.tableName]: options.tableName,
    [ENV.issuers]: JSON.stringify(options.issuers),
    [ENV.allowedSuffixes]: 'example.test',
    [ENV.secretStore]: 'directory',
    [ENV.secretStoreDir]: join(options.dir, 'secrets'),
    [ENV.dns]: 'challtestsrv',
    [ENV.challtestsrvUrl]: options.dns.challtestsrvUrl,
    [ENV.challtestsrvDns]: options.dns.dnsServer,
  };
}
