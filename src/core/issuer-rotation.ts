/**
 * Issuer rotation (DESIGN.md section 3), decided without listing the fleet.
 *
 * An issuer is a name (deployment config) standing for an identity: its ACME directory
 * URL plus the EAB key id (`issuerIdentity`). A record is converged when its current
 * certificate came from the issuer it should use now (its pinned name, or the target
 * issuer for records that follow the default) under that issuer's identity now.
 *
 * Every record carries one derived key, `issuedByKey`, that says what issued its
 * current certificate (group, name, identity); the records table indexes it (a sparse
 * GSI), so the rotation step Queries only the keys that are stale under the current
 * configuration, a batch at a time, and never Scans:
 * - `follows|<name>|<identity>` / `pinned|<name>|<identity>`: settled records (no
 *   rotation in flight), by what issued the current certificate; `-` as identity: no
 *   certificate yet (it will come from whatever the name is when issued); `?`:
 *   issued before identities were stamped (read as the name's baseline, below).
 * - `follows-to|<name>|<identity>` / `pinned-to|<name>|<identity>`: switched by the
 *   rotation (`record.issuerIdentity` set) and not yet re-issued: in flight. The worker
 *   clears the marker when it publishes, so the record moves back to a settled key.
 *
 * Records written before identities were stamped: the first rotation step that sees no
 * stored identities takes the configured identities as the baseline, and `?` stands for
 * the name's baseline identity. An upgrade alone therefore re-issues nothing; a later
 * change of the URL or the kid makes `?` stale like any older identity. The names and
 * identities the step has seen are kept in the control document, since the stale keys
 * are enumerated from them. Items stored before the index attribute existed are
 * rewritten once by an upgrade pass (services/reconcile-issuer.ts), a page per run.
 */
import { type CertificateRecord, isParked } from './certificate-record.js';
import type { Instant } from './time.js';

/** Identity part of a key for a record that has no certificate yet. */
export const NOT_ISSUED = '-';
/** Identity part of a key for a certificate issued before identities were stamped. */
export const UNSTAMPED = '?';

export type IssuedByGroup = 'follows' | 'pinned' | 'follows-to' | 'pinned-to';
const GROUPS: readonly IssuedByGroup[] = ['follows', 'pinned', 'follows-to', 'pinned-to'];

export function issuedBy(group: IssuedByGroup, name: string, identity: string): string {
  return `${group}|${name}|${identity}`;
}

/**
 * The index key of a record (see the file comment); `undefined` for parked records
 * (invalid, unmanaged), which the rotation leaves alone.
 */
export function issuedByKey(record: CertificateRecord): string | undefined {
  if (isParked(record.status)) return undefined;
  const pinned = record.issuerPinned === true;
  if (record.issuerIdentity !== undefined) {
    return issuedBy(pinned ? 'pinned-to' : 'follows-to', record.issuer, record.issuerIdentity);
  }
  if (!record.current) return issuedBy(pinned ? 'pinned' : 'follows', record.issuer, NOT_ISSUED);
  return issuedBy(
    pinned ? 'pinned' : 'follows',
    record.current.issuer,
    record.current.issuerIdentity ?? UNSTAMPED,
  );
}

/** What the rotation knows about one issuer name, kept in the control document. */
export interface KnownIssuer {
  /** The identity when this name was first seen: what unstamped certificates came from. */
  baseline: string;
  /** Every identity seen under this name (stale keys are enumerated from them). */
  seen: string[];
}

/** The deployment's issuers now: name -> identity (`issuerIdentity`). */
export type IssuerIdentities = Readonly<Record<string, string>>;

/**
 * Names and identities known after this step: the stored ones, plus what the
 * configuration names now (a new name's baseline is its identity now).
 */
export function learnIssuers(
  known: Readonly<Record<string, KnownIssuer>>,
  now: IssuerIdentities,
): Record<string, KnownIssuer> {
  const learned: Record<string, KnownIssuer> = {};
  for (const [name, entry] of Object.entries(known))
    learned[name] = { baseline: entry.baseline, seen: [...entry.seen] };
  for (const [name, identity] of Object.entries(now)) {
    const entry = learned[name] ?? { baseline: identity, seen: [] };
    if (!entry.seen.includes(identity)) entry.seen.push(identity);
    learned[name] = entry;
  }
  return learned;
}

/** Whether a certificate issued under `name` with `identity` must be re-issued for `name` now. */
function identityStale(
  name: string,
  identity: string,
  known: Readonly<Record<string, KnownIssuer>>,
  now: IssuerIdentities,
): boolean {
  const current = now[name];
  if (current === undefined || identity === NOT_ISSUED) return false;
  const issuedUnder = identity === UNSTAMPED ? known[name]?.baseline : identity;
  return issuedUnder !== undefined && issuedUnder !== current;
}

/**
 * Whether records under `key` are unconverged for `target` and the identities `now`.
 * Records pinned to a name no longer configured are left alone; followers are moved to
 * the target (a target without a known identity: by name only).
 */
export function isStaleKey(
  key: string,
  target: string,
  known: Readonly<Record<string, KnownIssuer>>,
  now: IssuerIdentities,
): boolean {
  const [group, name, ...rest] = key.split('|');
  const identity = rest.join('|');
  if (name === undefined || rest.length === 0) return false;
  switch (group) {
    case 'follows':
      return name !== target || identityStale(name, identity, known, now);
    case 'pinned':
      return identityStale(name, identity, known, now);
    case 'follows-to':
      return name !== target || (now[target] !== undefined && identity !== now[target]);
    case 'pinned-to':
      return now[name] !== undefined && identity !== now[name];
    default:
      return false;
  }
}

/**
 * The identity a record switched now is to be issued under: the identity of `name`
 * now, or a name-only marker when the identity is unknown (tests without identities).
 */
export function wantedIdentity(name: string, now: IssuerIdentities): string {
  return now[name] ?? UNSTAMPED;
}

/**
 * Every key that can hold unconverged records under `target` and `now`, from the names
 * and identities known: a bounded list (groups x names x identities), independent of
 * the fleet's size. Sorted, so that steps walk them in a stable order.
 */
export function staleKeys(
  target: string,
  known: Readonly<Record<string, KnownIssuer>>,
  now: IssuerIdentities,
): string[] {
  const names = new Set([...Object.keys(known), ...Object.keys(now), target]);
  const keys: string[] = [];
  for (const name of names) {
    const identities = new Set([
      ...(known[name]?.seen ?? []),
      ...(now[name] !== undefined ? [now[name]] : []),
      UNSTAMPED,
      NOT_ISSUED,
    ]);
    for (const group of GROUPS) {
      for (const identity of identities) {
        const key = issuedBy(group, name, identity);
        if (isStaleKey(key, target, known, now)) keys.push(key);
      }
    }
  }
  return keys.sort();
}

/** The keys of records in flight toward the configuration now (the batch's occupancy). */
export function inFlightKeys(target: string, now: IssuerIdentities): string[] {
  const keys = new Set([issuedBy('follows-to', target, wantedIdentity(target, now))]);
  for (const name of Object.keys(now)) keys.add(issuedBy('pinned-to', name, now[name] as string));
  return [...keys].sort();
}

/**
 * The convergence decision for one record, as the rotation step re-checks it after
 * reading it: `converged`, `in-flight` (switched, not yet re-issued) or `stale` (to
 * switch). Parked records are `converged` (left alone). Agrees with `isStaleKey` on the
 * record's key. Pure.
 */
export function convergence(
  record: CertificateRecord,
  target: string,
  known: Readonly<Record<string, KnownIssuer>>,
  now: IssuerIdentities,
): 'converged' | 'in-flight' | 'stale' {
  const key = issuedByKey(record);
  if (key === undefined) return 'converged';
  if (isStaleKey(key, target, known, now)) return 'stale';
  return record.issuerIdentity !== undefined ? 'in-flight' : 'converged';
}

/**
 * The record switched toward the configuration now: followers to the target, pinned
 * records to their own name; the wanted identity is marked, and the record is due now.
 * A record whose certificate already came from there (an earlier rotation's marker,
 * overtaken) is settled instead: the name is set and the marker cleared, nothing is due.
 */
export function switchRecord(
  record: CertificateRecord,
  target: string,
  known: Readonly<Record<string, KnownIssuer>>,
  now: IssuerIdentities,
  at: Instant,
): CertificateRecord {
  const name = record.issuerPinned ? record.issuer : target;
  const identity = wantedIdentity(name, now);
  const current = record.current;
  if (current?.issuer === name) {
    const stamp = current.issuerIdentity ?? UNSTAMPED;
    if (identity === UNSTAMPED || !identityStale(name, stamp, known, now)) {
      const { issuerIdentity: _marker, ...settled } = record;
      return { ...settled, issuer: name, updatedAt: at };
    }
  }
  return { ...record, issuer: name, issuerIdentity: identity, nextAttemptAt: at, updatedAt: at };
}

/** Progress of moving the fleet to a target issuer; kept in a control document. */
export interface RotationState {
  target: string;
  /** The target's identity when this rotation started (absent: by name only). */
  targetIdentity?: string;
  startedAt: Instant;
  /** Records unconverged when the rotation started (counted once). */
  total: number;
  /** Records re-issued since (switched by the rotation and no longer in flight). */
  converged: number;
  /** Records switched so far by this rotation. */
  scheduled: number;
  completedAt?: Instant;
  /** Every issuer name seen and its identities (the stale keys come from them). */
  issuers: Record<string, KnownIssuer>;
  /** The identities the rotation runs toward. */
  identities: Record<string, string>;
  /**
   * The one-time upgrade pass is done: every record stored before the issued-by index
   * existed has been rewritten into it. Until then `indexCursor` says where it is.
   */
  indexed?: true;
  indexCursor?: string;
}

export type RotationRule =
  | 'RotationStarted'
  | 'RotationRestarted'
  | 'RotationProgress'
  | 'RotationComplete';

/**
 * Whether the configuration now differs from the one the stored rotation runs toward
 * (another target, or any issuer's identity changed): a new rotation starts.
 */
export function rotationChanged(
  previous: RotationState | undefined,
  target: string,
  now: IssuerIdentities,
): boolean {
  if (!previous) return true;
  if (previous.target !== target) return true;
  const before = previous.identities ?? {};
  const names = new Set([...Object.keys(before), ...Object.keys(now)]);
  for (const name of names) if (before[name] !== now[name]) return true;
  return false;
}

/**
 * How many records to switch in this step: the batch minus those in flight; `0` when
 * the batch is full.
 */
export function room(batch: number, inFlight: number): number {
  return Math.max(0, Math.floor(batch) - inFlight);
}

/**
 * The state after one step. `stale` and `inFlight` are what the step found (stale:
 * at most what it asked for); the rotation is complete when neither remains.
 */
export function nextRotationState(
  previous: RotationState,
  step: { scheduled: number; inFlight: number; staleLeft: boolean },
  now: Instant,
): { state: RotationState; rule: RotationRule } {
  const scheduled = previous.scheduled + step.scheduled;
  const complete = !step.staleLeft && step.inFlight === 0 && step.scheduled === 0;
  // Switched earlier and no longer in flight: re-issued (or parked, which leaves the rotation).
  const converged = complete
    ? previous.total
    : Math.min(previous.total, Math.max(previous.converged, previous.scheduled - step.inFlight));
  const state: RotationState = {
    ...previous,
    scheduled,
    converged,
    ...(complete ? { completedAt: previous.completedAt ?? now } : {}),
  };
  return { state, rule: complete ? 'RotationComplete' : 'RotationProgress' };
}
