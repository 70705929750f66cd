import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CertificateRecord, RecordStatus } from '../../../src/core/certificate-record.js';
import { decideIssuance } from '../../../src/core/issuance-checks.js';
import { issuerIdentity } from '../../../src/core/issuer-identity.js';
import {
  convergence,
  type IssuerIdentities,
  inFlightKeys,
  issuedByKey,
  type KnownIssuer,
  learnIssuers,
  nextRotationState,
  type RotationState,
  rotationChanged,
  staleKeys,
  switchRecord,
  UNSTAMPED,
} from '../../../src/core/issuer-rotation.js';
import { DAY } from '../../../src/core/time.js';

const NOW = Date.UTC(2026, 11, 5, 8, 0, 0);
const NAMES = ['a', 'b', 'c'] as const;
const URLS = [
  'https://acme-staging-v02.api.letsencrypt.org/directory',
  'https://acme-v02.api.letsencrypt.org/directory',
  'https://acme.zerossl.com/v2/DV90 kid=kid-1',
  'https://acme.zerossl.com/v2/DV90 kid=kid-2',
];

const anIdentities = fc.record({
  a: fc.constantFrom(...URLS),
  b: fc.constantFrom(...URLS),
  c: fc.constantFrom(...URLS),
});

/** What the rotation knows after seeing `earlier` configurations and then `now`. */
const aWorld = fc
  .record({
    earlier: fc.array(anIdentities, { maxLength: 3 }),
    now: anIdentities,
    target: fc.constantFrom(...NAMES),
  })
  .map(({ earlier, now, target }) => {
    let known: Record<string, KnownIssuer> = {};
    for (const config of earlier) known = learnIssuers(known, config);
    known = learnIssuers(known, now);
    return { known, now: now as IssuerIdentities, target };
  });

/** A record whose names and identities the world has seen (the rotation's premise). */
function aRecordIn(world: { known: Record<string, KnownIssuer> }) {
  const seen = (name: string) => world.known[name]?.seen ?? [];
  return fc
    .record({
      issuer: fc.constantFrom(...NAMES),
      issuedBy: fc.constantFrom(...NAMES),
      pinned: fc.boolean(),
      status: fc.constantFrom<RecordStatus>('pending', 'active', 'failing', 'invalid', 'unmanaged'),
      issued: fc.boolean(),
      stamp: fc.nat(10),
      marker: fc.nat(10),
    })
    .map((r): CertificateRecord => {
      const stamps = seen(r.issuedBy);
      const markers = seen(r.issuer);
      return {
        id: 'secret/r.example.test',
        shard: 0,
        domains: ['r.example.test'],
        keyType: 'ec-p256',
        issuer: r.issuer,
        ...(r.pinned ? { issuerPinned: true } : {}),
        // Half the records are settled (no marker); the others carry one the world knows.
        ...(r.marker % 2 === 0
          ? {}
          : { issuerIdentity: markers[r.marker % (markers.length + 1)] ?? UNSTAMPED }),
        status: r.status,
        ...(r.issued
          ? {
              current: {
                serial: '01',
                notBefore: NOW - DAY,
                notAfter: NOW + 89 * DAY,
                domains: ['r.example.test'],
                keyType: 'ec-p256',
                issuer: r.issuedBy,
                ...(stamps[r.stamp % (stamps.length + 1)] !== undefined
                  ? { issuerIdentity: stamps[r.stamp % (stamps.length + 1)] }
                  : {}),
                issuedAt: NOW - DAY,
              },
              renewAt: NOW + 59 * DAY,
              nextAttemptAt: NOW + 59 * DAY,
            }
          : { nextAttemptAt: NOW }),
        failures: 0,
        version: 3,
        createdAt: NOW - 2 * DAY,
        updatedAt: NOW - DAY,
      };
    });
}

const aWorldAndRecord = aWorld.chain((world) =>
  aRecordIn(world).map((record) => ({ ...world, record })),
);

/** What the worker leaves behind once it has re-issued a record under the identities now. */
function reissued(record: CertificateRecord, now: IssuerIdentities): CertificateRecord {
  const { issuerIdentity: _marker, ...settled } = record;
  const identity = now[record.issuer];
  return {
    ...settled,
    status: 'active',
    current: {
      serial: '02',
      notBefore: NOW,
      notAfter: NOW + 90 * DAY,
      domains: record.domains,
      keyType: record.keyType,
      issuer: record.issuer,
      ...(identity !== undefined ? { issuerIdentity: identity } : {}),
      issuedAt: NOW,
    },
  };
}

describe('issuer rotation: the convergence decision', () => {
  it('finds a record through the stale keys exactly when the record is stale', () => {
    fc.assert(
      fc.property(aWorldAndRecord, ({ known, now, target, record }) => {
        const key = issuedByKey(record);
        const listed = key !== undefined && staleKeys(target, known, now).includes(key);
        expect(listed).toBe(convergence(record, target, known, now) === 'stale');
      }),
    );
  });

  it('calls a settled record converged exactly when its certificate came from the issuer it should use now, under that identity', () => {
    fc.assert(
      fc.property(aWorldAndRecord, ({ known, now, target, record }) => {
        fc.pre(record.issuerIdentity === undefined && record.current !== undefined);
        fc.pre(record.status !== 'invalid' && record.status !== 'unmanaged');
        const wanted = record.issuerPinned ? record.issuer : target;
        const current = record.current as NonNullable<CertificateRecord['current']>;
        const issuedUnder = current.issuerIdentity ?? known[current.issuer]?.baseline;
        const expected = record.issuerPinned
          ? // Pinned records follow their own name's identity (a name change is the registration's).
            issuedUnder === now[current.issuer]
          : current.issuer === wanted && issuedUnder === now[wanted];
        expect(convergence(record, target, known, now) === 'converged').toBe(expected);
      }),
    );
  });

  it('moves a stale record in flight when switched (or settles it when its certificate already fits), has the worker re-issue it, and calls the result converged', () => {
    fc.assert(
      fc.property(aWorldAndRecord, ({ known, now, target, record }) => {
        fc.pre(convergence(record, target, known, now) === 'stale');
        const switched = switchRecord(record, target, known, now, NOW);
        if (switched.issuerIdentity === undefined) {
          // Its certificate already came from there (an overtaken marker): settled as it is.
          expect(convergence(switched, target, known, now)).toBe('converged');
          return;
        }
        expect(convergence(switched, target, known, now)).toBe('in-flight');
        expect(inFlightKeys(target, now)).toContain(issuedByKey(switched));
        expect(decideIssuance(switched, NOW).action).toBe('issue');
        expect(convergence(reissued(switched, now), target, known, now)).toBe('converged');
      }),
    );
  });

  it('re-issues nothing on an upgrade alone: unstamped certificates stand for the identities first seen', () => {
    fc.assert(
      fc.property(aWorld, ({ now, target }) => {
        const known = learnIssuers({}, now);
        const record: CertificateRecord = {
          ...reissued(
            {
              id: 'secret/old.example.test',
              shard: 0,
              domains: ['old.example.test'],
              keyType: 'ec-p256',
              issuer: target,
              status: 'active',
              failures: 0,
              version: 1,
              createdAt: NOW,
              updatedAt: NOW,
            },
            now,
          ),
        };
        const unstamped = {
          ...record,
          current: { ...(record.current as NonNullable<CertificateRecord['current']>) },
        };
        delete unstamped.current.issuerIdentity;
        expect(convergence(unstamped, target, known, now)).toBe('converged');
        expect(rotationChanged(undefined, target, now)).toBe(true);
        expect(staleKeys(target, known, now).filter((k) => k.startsWith('follows|'))).toEqual(
          staleKeys(target, known, now).filter(
            (k) => k.startsWith('follows|') && !k.startsWith(`follows|${target}|`),
          ),
        );

        // Staging to production after the upgrade: the unstamped certificate is stale.
        const moved = { ...now, [target]: `${now[target]}-production` };
        const later = learnIssuers(known, moved);
        expect(
          rotationChanged({ target, identities: { ...now } } as RotationState, target, moved),
        ).toBe(true);
        expect(convergence(unstamped, target, later, moved)).toBe('stale');
      }),
    );
  });

  it('starts a rotation when only the EAB key id changes, and calls what the old account issued stale', () => {
    const directoryUrl = 'https://acme.zerossl.com/v2/DV90';
    const before = { a: issuerIdentity({ directoryUrl, eab: { keyId: 'kid-1' } }) };
    const after = { a: issuerIdentity({ directoryUrl, eab: { keyId: 'kid-2' } }) };
    const known = learnIssuers(learnIssuers({}, before), after);
    const previous = { target: 'a', identities: before } as unknown as RotationState;

    expect(rotationChanged(previous, 'a', before)).toBe(false);
    expect(rotationChanged(previous, 'a', after)).toBe(true);
    expect(staleKeys('a', known, after)).toContain(`follows|a|${directoryUrl} kid=kid-1`);
    expect(staleKeys('a', known, after)).toContain(`pinned|a|${directoryUrl} kid=kid-1`);
    expect(staleKeys('a', known, after)).not.toContain(`follows|a|${directoryUrl} kid=kid-2`);
  });

  it('keeps progress within the total, never going back, and completes when nothing is left', () => {
    fc.assert(
      fc.property(
        fc.nat(500),
        fc.array(
          fc.record({ scheduled: fc.nat(30), inFlight: fc.nat(30), staleLeft: fc.boolean() }),
        ),
        (total, steps) => {
          let state: RotationState = {
            target: 'a',
            startedAt: NOW,
            total,
            converged: 0,
            scheduled: 0,
            issuers: {},
            identities: {},
          };
          for (const step of steps) {
            const next = nextRotationState(state, step, NOW).state;
            expect(next.converged).toBeGreaterThanOrEqual(state.converged);
            expect(next.converged).toBeLessThanOrEqual(total);
            state = next;
          }
          const done = nextRotationState(
            state,
            { scheduled: 0, inFlight: 0, staleLeft: false },
            NOW,
          );
          expect(done.rule).toBe('RotationComplete');
          expect(done.state).toMatchObject({ converged: total, completedAt: NOW });
        },
      ),
    );
  });
});
