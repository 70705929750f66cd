import { createPrivateKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { KeyMaterial } from '../../core/key-material.js';
import type { KeyType } from '../../core/key-type.js';
import type { KeyFactory } from '../../ports/key-factory.js';
import { acmeCrypto } from '../acme/acme-client-modules.js';
import { loadX509Library } from './x509-library.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** The longest common name X.509 allows (ub-common-name). */
const MAX_COMMON_NAME = 64;

const SPKI_PEM = { type: 'spki', format: 'pem' } as const;
const PKCS8_PEM = { type: 'pkcs8', format: 'pem' } as const;

async function generatePem(keyType: KeyType): Promise<string> {
  switch (keyType) {
    case 'ec-p256':
    case 'ec-p384': {
      const namedCurve = keyType === 'ec-p256' ? 'P-256' : 'P-384';
      const pair = await generateKeyPairAsync('ec', {
        namedCurve,
        publicKeyEncoding: SPKI_PEM,
        privateKeyEncoding: PKCS8_PEM,
      });
      return pair.privateKey;
    }
    case 'rsa-2048':
    case 'rsa-3072':
    case 'rsa-4096': {
      const pair = await generateKeyPairAsync('rsa', {
        modulusLength: Number(keyType.slice('rsa-'.length)),
        publicExponent: 0x10001,
        publicKeyEncoding: SPKI_PEM,
        privateKeyEncoding: PKCS8_PEM,
      });
      return pair.privateKey;
    }
    default: {
      const unknown: never = keyType;
      throw new TypeError(`unsupported key type: ${String(unknown)}`);
    }
  }
}

/**
 * The common name for a CSR: the first non-wildcard name, else the first name (the
 * port's rule), as long as it fits the 64-character X.509 limit; otherwise none (the
 * SANs are what counts, and ACME CAs accept a CSR without a CN).
 */
export function commonNameFor(domains: readonly string[]): string | undefined {
  const preferred = domains.find((name) => !name.startsWith('*.')) ?? domains[0];
  return preferred !== undefined && preferred.length <= MAX_COMMON_NAME ? preferred : undefined;
}

/** acme-client imports the key as PKCS#8; accept SEC1 / PKCS#1 PEM too by converting. */
function asPkcs8(pem: string): string {
  if (pem.includes('-----BEGIN PRIVATE KEY-----')) return pem;
  return createPrivateKey(pem).export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * Keys from node:crypto (PKCS#8 PEM), CSRs from acme-client's crypto helpers, which make
 * them with @peculiar/x509: loading that library is the slow part of a first CSR, and in
 * the Lambda bundles it happens on first use (see x509-library.ts), which `warmUp` brings
 * forward.
 */
export class NodeKeyFactory implements KeyFactory {
  async warmUp(): Promise<void> {
    // Loading blocks the event loop for tens of milliseconds: let the caller's requests
    // (the DNS wait's first poll) go out first.
    await new Promise((resolve) => setImmediate(resolve));
    await loadX509Library();
  }

  async generate(keyType: KeyType): Promise<KeyMaterial> {
    return new KeyMaterial(await generatePem(keyType));
  }

  async createCsr(key: KeyMaterial, domains: string[]): Promise<string> {
    if (domains.length === 0) throw new TypeError('a CSR needs at least one domain');
    const altNames = [...domains];
    const commonName = commonNameFor(altNames);
    let csr: Buffer;
    try {
      [, csr] = await acmeCrypto.createCsr(
        commonName === undefined ? { altNames } : { altNames, commonName },
        asPkcs8(key.reveal()),
      );
    } catch (error) {
      // Never echo the key: only say what kind of failure it was.
      const reason = error instanceof Error ? error.name : typeof error;
      throw new TypeError(`could not create a CSR for ${domains.join(', ')} (${reason})`);
    }
    return csr.toString();
  }
}
