import type { AcmImport } from './acm-import.js';
import type { ErrorKind } from './errors.js';
import type { KeyType } from './key-type.js';
import type { AriState } from './renewal-info.js';
import type { Instant } from './time.js';

/**
 * - `pending`: registered, never issued.
 * - `active`: holds a current certificate; the last attempt (if any) succeeded.
 * - `failing`: the last attempt failed; `nextAttemptAt` follows the backoff table.
 * - `invalid`: a problem that waiting cannot fix; not scheduled until it changes.
 * - `unmanaged`: the registration was removed (the `certloop:domains` tag is gone); the
 *   record is kept so that tagging the secret again resumes with what is known.
 */
export type RecordStatus = 'pending' | 'active' | 'failing' | 'invalid' | 'unmanaged';

/** Statuses a worker never acts on: they wait for the registration to change. */
export function isParked(status: RecordStatus): boolean {
  return status === 'invalid' || status === 'unmanaged';
}

/** What is known about the certificate currently published for a record. */
export interface IssuedCertificate {
  serial: string;
  notBefore: Instant;
  notAfter: Instant;
  /** SANs of the certificate, sorted. */
  domains: string[];
  keyType: KeyType;
  /** Named issuer (deployment config) that issued it. */
  issuer: string;
  /**
   * The identity (`issuerIdentity`: directory URL, EAB key id) that issuer had when it
   * issued this certificate. Absent on certificates issued before identities were
   * stamped (the issuer rotation reads them as the name's baseline identity).
   */
  issuerIdentity?: string;
  /** ACME profile it was ordered with, if any. */
  profile?: string;
  issuedAt: Instant;
}

/** An ACME order placed and not yet turned into a published certificate. */
export interface InFlightOrder {
  url: string;
  /** Names the private key staged in the secret store under this attempt. */
  attemptId: string;
  domains: string[];
  keyType: KeyType;
  issuer: string;
  /** The issuer's identity when the order was placed. */
  issuerIdentity?: string;
  profile?: string;
  /** The ARI identifier of the certificate this order replaces (RFC 9773 `replaces`). */
  replaces?: string;
  placedAt: Instant;
  expiresAt?: Instant;
}

export interface LastError {
  message: string;
  kind: ErrorKind;
  at: Instant;
  source?: string;
}

export interface Lease {
  owner: string;
  until: Instant;
}

export interface CertificateRecord {
  /** Identity: the secret the certificate is written to (ARN on AWS, a name locally). */
  id: string;
  /** Small number spreading records over the due index's partitions. */
  shard: number;
  /** Requested names, normalized and sorted ("*.example.com" for a wildcard). */
  domains: string[];
  keyType: KeyType;
  profile?: string;
  /** Named issuer to request from. */
  issuer: string;
  /**
   * Set by the issuer rotation: the identity of `issuer` the record was switched to (or
   * `?`: by name only). The worker re-issues while the current certificate came from
   * another identity, and clears it when it publishes. Absent: whatever identity
   * `issuer` has when the worker gets to it.
   */
  issuerIdentity?: string;
  /** Where the registration came from: secret tags (the sweep may unmanage it) or a config file. */
  registeredBy?: 'tags' | 'config';
  /** The registration named the issuer (a tag): issuer rotation leaves the record alone. */
  issuerPinned?: boolean;
  status: RecordStatus;
  /** Why the record is `invalid` or `failing`, for a person. */
  statusMessage?: string;
  current?: IssuedCertificate;
  /** When to renew the current certificate; picked once per certificate. */
  renewAt?: Instant;
  /** The jitter fraction behind `renewAt`, kept to show it was picked once. */
  renewJitter?: number;
  /** The rule behind `renewAt`: the lifetime rule, or the CA's ARI window. */
  renewalRule?: 'two-thirds-of-lifetime' | 'half-of-lifetime' | 'ari-suggested-window';
  /**
   * ACME Renewal Information of the current certificate (RFC 9773): its identifier
   * (sent as `replaces` on the renewal order), the window the CA suggested, and when
   * to ask again. Reset at every issuance.
   */
  ari?: AriState;
  /** When a worker should next look at this record. Absent: never (sparse index). */
  nextAttemptAt?: Instant;
  /** Consecutive failed attempts (backoff count); 0 after a success. */
  failures: number;
  lastError?: LastError;
  lease?: Lease;
  /** Incremented by every write; every write conditions on the version it read. */
  version: number;
  order?: InFlightOrder;
  /** Also import the certificate into ACM (`certloop:acm`), and what was imported. */
  acm?: AcmImport;
  /** A person asked for a renewal; honoured once for certificates issued before it. */
  forceRenewal?: { reason: string; requestedAt: Instant };
  createdAt: Instant;
  updatedAt: Instant;
}

/** Number of partitions of the due index. Fixed per table: records keep their shard. */
export const DUE_INDEX_SHARDS = 4;

/** A stable shard for an id (FNV-1a), so that the same id always lands in the same shard. */
export function shardFor(id: string, shards = DUE_INDEX_SHARDS): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** Two name lists request the same certificate (order and case do not matter). */
export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const left = [...a].map((n) => n.toLowerCase()).sort();
  const right = [...b].map((n) => n.toLowerCase()).sort();
  return left.every((name, i) => name === right[i]);
}

/**
 * When a worker should next look at an up-to-date record: its renewal time, or its next
 * renewal information check when that comes first.
 */
export function nextLook(
  record: Pick<CertificateRecord, 'renewAt' | 'ari' | 'current'>,
  now: number,
): number {
  const renewAt = record.renewAt ?? record.current?.notAfter ?? now;
  const checkAt = record.ari?.checkAt;
  return checkAt !== undefined && checkAt < renewAt ? checkAt : renewAt;
}
