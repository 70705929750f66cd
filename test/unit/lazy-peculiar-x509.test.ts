import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE_SETTINGS } from '../../infra/bundling/bundle-settings.js';

// The @peculiar/x509 stand-in of the Lambda bundles (infra/bundling/lazy-peculiar-x509.cjs),
// bundled with the functions' settings and run in a Node process of its own: it must not
// load the library until something other than `cryptoProvider.set` is read, and from then
// on answer as the library does, with the crypto provider set before the load in place.
// Reflect.getMetadata (reflect-metadata, loaded first by the library) shows the load.

const dir = mkdtempSync(join(tmpdir(), 'certloop-lazy-x509-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bundles `source` (CommonJS) with the functions' settings and runs it; its stdout as JSON. */
function runBundled(source: string): Record<string, unknown> {
  const entry = join(dir, `entry-${Math.random().toString(36).slice(2)}.cjs`);
  writeFileSync(entry, source);
  const outfile = `${entry}.bundle.js`;
  buildSync({
    ...BUNDLE_SETTINGS,
    external: [...BUNDLE_SETTINGS.external],
    alias: { ...BUNDLE_SETTINGS.alias },
    entryPoints: [entry],
    nodePaths: [join(process.cwd(), 'node_modules')],
    outfile,
    logLevel: 'error',
  });
  return JSON.parse(execFileSync(process.execPath, [outfile], { encoding: 'utf8' }));
}

describe('the @peculiar/x509 stand-in in the bundles', () => {
  it('defers the load past cryptoProvider.set and replays that call on the library', () => {
    const report = runBundled(`
      const { webcrypto } = require('node:crypto');
      const x509 = require('@peculiar/x509');
      x509.cryptoProvider.set(webcrypto);
      const beforeUse = typeof Reflect.getMetadata;
      const hasCertificate = 'X509Certificate' in x509;
      process.stdout.write(JSON.stringify({
        beforeUse,
        afterUse: typeof Reflect.getMetadata,
        hasCertificate,
        providerIsWebcrypto: x509.cryptoProvider.get() === webcrypto,
        exports: Object.keys(x509).length,
        sameClassTwice: x509.X509Certificate === x509.X509Certificate,
      }));
    `);
    expect(report).toEqual({
      beforeUse: 'undefined',
      afterUse: 'function',
      hasCertificate: true,
      providerIsWebcrypto: true,
      exports: expect.any(Number),
      sameClassTwice: true,
    });
    expect(report.exports).toBeGreaterThan(50);
  });

  it('loads the library when the provider is read for anything but set', () => {
    const report = runBundled(`
      const { webcrypto } = require('node:crypto');
      const x509 = require('@peculiar/x509');
      const provider = x509.cryptoProvider;
      const afterRead = typeof Reflect.getMetadata;
      provider.set(webcrypto);
      const afterSet = typeof Reflect.getMetadata;
      const got = provider.get();
      process.stdout.write(JSON.stringify({
        afterRead,
        afterSet,
        afterGet: typeof Reflect.getMetadata,
        gotWebcrypto: got === webcrypto,
      }));
    `);
    expect(report).toEqual({
      afterRead: 'undefined',
      afterSet: 'undefined',
      afterGet: 'function',
      gotWebcrypto: true,
    });
  });

  it('gives acme-client a working library: a CSR made through it verifies', () => {
    const report = runBundled(`
      const { generateKeyPairSync } = require('node:crypto');
      const acmeCrypto = require('acme-client/src/crypto/index.js');
      const loadedByRequire = typeof Reflect.getMetadata;
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
      acmeCrypto.createCsr({ commonName: 'a.example.test', altNames: ['a.example.test', 'b.example.test'] }, pem)
        .then(([, csr]) => {
          process.stdout.write(JSON.stringify({
            loadedByRequire,
            domains: acmeCrypto.readCsrDomains(csr),
            body: acmeCrypto.getPemBodyAsB64u(csr).length > 100,
            csr: csr.toString(),
          }));
        });
    `);
    expect(report).toEqual({
      loadedByRequire: 'undefined',
      domains: { commonName: 'a.example.test', altNames: ['a.example.test', 'b.example.test'] },
      body: true,
      csr: expect.stringContaining('-----BEGIN CERTIFICATE REQUEST-----'),
    });
    // Its signature checks out (openssl exits non-zero on a bad one).
    const csrFile = join(dir, 'request.csr');
    writeFileSync(csrFile, report.csr as string);
    expect(
      execFileSync('openssl', ['req', '-verify', '-noout', '-in', csrFile], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ).toBe('');
  });
});
