import { afterAll, beforeAll } from 'vitest';
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
