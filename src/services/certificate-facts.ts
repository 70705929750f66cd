import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { CertloopError } from '../core/errors.js';
import type { KeyMaterial } from '../core/key-material.js';

/** What certloop needs to know about an issued certificate, read with node:crypto. */
export interface CertificateFacts {
  certificate: string;
  chain: string;
  fullchain: string;
  serial: string;
  notBefore: number;
  notAfter: number;
  domains: string[];
  issuer: string;
  /** SHA-256 of the leaf's DER, hex: the idempotency token of its secret version. */
  fingerprint: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Splits a full chain, reads the leaf, and refuses (kind `transient`, source `ca`) a
 * chain whose leaf does not match `key` or whose names differ from `expectedDomains`:
 * a certificate without its key must never be published.
 */
export function readIssuedChain(
  fullchainPem: string,
  key: KeyMaterial,
  expectedDomains: readonly string[],
): CertificateFacts {
  const blocks = fullchainPem.match(PEM_BLOCK) ?? [];
  const [leafPem, ...chainPems] = blocks;
  if (!leafPem)
    throw new CertloopError('transient', 'the CA returned no certificate in the chain', {
      source: 'ca',
    });
  const leaf = new X509Certificate(leafPem);
  if (!leaf.checkPrivateKey(createPrivateKey(key.reveal()))) {
    throw new CertloopError(
      'transient',
      `certificate ${leaf.serialNumber} does not match the staged private key; not publishing it`,
      { source: 'ca' },
    );
  }
  const domains = (leaf.subjectAltName ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase())
    .sort();
  const expected = [...expectedDomains].sort();
  if (domains.join(' ') !== expected.join(' ')) {
    throw new CertloopError(
      'transient',
      `certificate names [${domains.join(' ')}] differ from the order [${expected.join(' ')}]`,
      { source: 'ca' },
    );
  }
  const certificate = `${leafPem}\n`;
  const chain = chainPems.map((pem) => `${pem}\n`).join('');
  return {
    certificate,
    chain,
    fullchain: certificate + chain,
    serial: leaf.serialNumber.toUpperCase(),
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
    domains,
    issuer: leaf.issuer.replace(/\n/g, ', '),
    fingerprint: createHash('sha256').update(leaf.raw).digest('hex'),
  };
}
