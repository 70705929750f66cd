import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ariCertificateIdOf,
  ariCertificateIdWith,
} from '../../../src/adapters/crypto/ari-certificate-id.js';

x509.cryptoProvider.set(webcrypto as never);
const SIGNING = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
let keys: webcrypto.CryptoKeyPair;

beforeAll(async () => {
  keys = (await webcrypto.subtle.generateKey(SIGNING, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
});

/** A certificate with exactly this serial (hex) and Authority Key Identifier (hex). */
async function handMade(serialHex: string, akiHex?: string): Promise<string> {
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex,
    subject: 'CN=ari.test',
    issuer: 'CN=ari test CA',
    notBefore: new Date('2026-12-01T00:00:00Z'),
    notAfter: new Date('2027-03-01T00:00:00Z'),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: akiHex ? [new x509.AuthorityKeyIdentifierExtension(akiHex)] : [],
  });
  return certificate.toString('pem');
}

describe('ariCertificateIdOf', () => {
  it('gives the RFC 9773 example identifier for the example key identifier and serial', async () => {
    const pem = await handMade('0087654321', '69885B6B87464041E1B37B847BA0AE2CDE01C8D4');
    expect(await ariCertificateIdOf(pem)).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
    // The same with the library given (the local ACME front's way).
    expect(ariCertificateIdWith(x509, pem)).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('reads the leaf of a full chain and keeps the DER leading zero of high-bit serials', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 19 }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        async (serialBytes, aki) => {
          // X.509 serials are positive: a first byte with its high bit set gets a 00.
          const serial = Buffer.from(serialBytes)
            .toString('hex')
            .replace(/^(00)+(?=..)/, '');
          const der = /^[89a-f]/.test(serial) ? `00${serial}` : serial;
          const akiHex = Buffer.from(aki).toString('hex');
          const pem = await handMade(der, akiHex);
          const id = await ariCertificateIdOf(`${pem}\n${await handMade('01', akiHex)}`);
          expect(id).toBe(
            `${Buffer.from(aki).toString('base64url')}.${Buffer.from(der, 'hex').toString('base64url')}`,
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('says that a certificate without an Authority Key Identifier has no ARI identifier', async () => {
    const pem = await handMade('0a');
    await expect(ariCertificateIdOf(pem)).rejects.toThrow(/no Authority Key Identifier/);
    await expect(ariCertificateIdOf('not a certificate')).rejects.toThrow(/no PEM certificate/);
  });
});
