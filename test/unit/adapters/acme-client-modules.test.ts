import * as acme from 'acme-client';
import { describe, expect, it } from 'vitest';
import {
  AcmeClient,
  acmeAxios,
  acmeCrypto,
} from '../../../src/adapters/acme/acme-client-modules.js';

// certloop loads acme-client's modules by path to keep node-forge out of its bundles.
// These must stay the objects the package index exports: an upgrade that moves or
// splits them has to fail here, not in production.
describe('acme-client modules loaded by path', () => {
  it('are the very objects the package index exports', () => {
    expect(AcmeClient).toBe(acme.Client);
    expect(acmeAxios).toBe(acme.axios);
    expect(acmeCrypto).toBe(acme.crypto);
  });

  it('give a working client and crypto module', async () => {
    const accountKey = await acmeCrypto.createPrivateEcdsaKey('P-256');
    const client = new AcmeClient({ directoryUrl: 'https://127.0.0.1:9/dir', accountKey });
    expect(client.getAccountUrl).toBeTypeOf('function');
    const [, csr] = await acmeCrypto.createCsr({ commonName: 'a.example.test' }, accountKey);
    expect(acmeCrypto.readCsrDomains(csr)).toEqual({
      commonName: 'a.example.test',
      altNames: ['a.example.test'],
    });
  });

  it('is not the package index, which would load node-forge', async () => {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: ['src/adapters/acme/acme-client-modules.ts'],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((file) => file.includes('node_modules/acme-client/src/client.js'))).toBe(
      true,
    );
    expect(inputs.filter((file) => file.includes('node-forge'))).toEqual([]);
  });
});
