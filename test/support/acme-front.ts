import { afterAll, beforeAll } from 'vitest';
import {
  type AcmeFront,
  type AcmeFrontOptions,
  startAcmeFront,
} from '../../src/local/acme-front.js';
import {
  type PebbleOptions,
  type PebbleServer,
  startPebble,
} from '../../src/local/pebble-server.js';

export interface AcmeFrontFixture {
  front: AcmeFront;
  pebble: PebbleServer;
  /** The front's directory and listener certificate: what an ACME client is given. */
  directoryUrl: string;
  listenerCaPem: string;
  /** challtestsrv, to answer DNS-01 challenges. */
  challtestsrvUrl: string;
  dnsServer: string;
}

export interface UseAcmeFrontOptions extends Omit<AcmeFrontOptions, 'upstream'> {
  /** Options of the pebble behind the front (e.g. `certificateValidityPeriod`). */
  pebble?: PebbleOptions;
}

/**
 * Starts one pebble + challtestsrv and the ACME front before it for the enclosing
 * describe block (or file), and stops both afterwards. Returns a getter, since they exist
 * only once beforeAll ran.
 */
export function useAcmeFront(options: UseAcmeFrontOptions = {}): () => AcmeFrontFixture {
  let fixture: AcmeFrontFixture | undefined;
  let pebble: PebbleServer | undefined;
  let front: AcmeFront | undefined;
  beforeAll(async () => {
    const { pebble: pebbleOptions, ...frontOptions } = options;
    pebble = await startPebble(pebbleOptions);
    front = await startAcmeFront({
      ...frontOptions,
      upstream: { directoryUrl: pebble.directoryUrl, listenerCaPem: pebble.listenerCaPem },
    });
    fixture = {
      front,
      pebble,
      directoryUrl: front.directoryUrl,
      listenerCaPem: front.listenerCaPem,
      challtestsrvUrl: pebble.challtestsrvUrl,
      dnsServer: pebble.dnsServer,
    };
  });
  afterAll(async () => {
    await front?.stop();
    await pebble?.stop();
  });
  return () => {
    if (!fixture) {
      throw new Error('the ACME front is not running: useAcmeFront() getter called outside a test');
    }
    return fixture;
  };
}
