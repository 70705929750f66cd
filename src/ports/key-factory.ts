import type { KeyMaterial } from '../core/key-material.js';
import type { KeyType } from '../core/key-type.js';

/**
 * Private keys and CSRs for certificates.
 * - `generate` makes a new private key of the type (fresh randomness every call).
 * - `createCsr` makes a PEM CSR for exactly `domains` signed by `key` (the first
 *   non-wildcard name, or the first name, becomes the common name).
 * - `warmUp` loads what `createCsr` needs, so that the first CSR of a cold function does
 *   not pay for it; the engine calls it while an issuance waits for DNS.
 */
export interface KeyFactory {
  generate(keyType: KeyType): Promise<KeyMaterial>;
  createCsr(key: KeyMaterial, domains: string[]): Promise<string>;
  warmUp(): Promise<void>;
}
