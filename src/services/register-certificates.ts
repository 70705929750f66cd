import { acmTargetProblem, nextAcmImport } from '../core/acm-import.js';
import { type CertificateRecord, sameNames, shardFor } from '../core/certificate-record.js';
import { type NamePolicy, normalizeName, validateRequestedNames } from '../core/domain-names.js';
import { CertloopError } from '../core/errors.js';
import { DEFAULT_KEY_TYPE, isKeyType, KEY_TYPES, type KeyType } from '../core/key-type.js';
import type { RegistrationRequest } from '../core/registration-tags.js';
import type { CertificateRecordStore } from '../ports/certificate-records.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';

export type Registration = RegistrationRequest;

export interface RegistrationDeps {
  records: CertificateRecordStore;
  clock: Clock;
  logger: Logger;
  policy: NamePolicy;
  /** Issuer names this deployment knows. */
  issuerNames: readonly string[];
  defaultIssuer: string;
  /**
   * The deployment may import into ACM (the construct's `acmImport`): without it a
   * `certloop:acm` tag makes the record `invalid` instead of failing at every renewal.
   */
  acmImport?: boolean;
}

/**
 * `invalid`: the record was written invalid just now (new, turned invalid, or its problems
 * changed), so a person should hear of it; `stillInvalid`: it was invalid for the same
 * problems already and nothing was written.
 */
export type RegistrationOutcome = 'created' | 'updated' | 'unchanged' | 'invalid' | 'stillInvalid';

interface Request {
  domains: string[];
  keyType: KeyType;
  profile?: string;
  issuer: string;
  acm?: string;
  problems: string[];
}

function readRequest(registration: Registration, deps: RegistrationDeps): Request {
  const problems: string[] = [...(registration.tagProblems ?? [])];
  const names = validateRequestedNames(
    { domains: registration.domains, wildcards: registration.wildcards ?? [] },
    deps.policy,
  );
  if (!names.ok) problems.push(...names.problems);
  const keyType = registration.keyType ?? DEFAULT_KEY_TYPE;
  if (!isKeyType(keyType))
    problems.push(`key type "${keyType}" is not one of ${KEY_TYPES.join(', ')}`);
  const issuer = registration.issuer ?? deps.defaultIssuer;
  if (!deps.issuerNames.includes(issuer)) {
    problems.push(
      `issuer "${issuer}" is not configured; known issuers: ${deps.issuerNames.join(', ')}`,
    );
  }
  const profile = registration.profile?.trim();
  if (profile !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(profile)) {
    problems.push(
      `profile "${profile.slice(0, 64)}" is not a valid ACME profile name (letters, digits, . _ -)`,
    );
  }
  const acm = registration.acm;
  if (acm !== undefined) {
    const problem = acmTargetProblem(acm);
    if (problem) problems.push(problem);
    else if (!deps.acmImport) {
      problems.push(
        'tag "certloop:acm": this deployment does not import into ACM; deploy it with acmImport enabled, or remove the tag',
      );
    }
  }
  const requested = names.ok
    ? names.names
    : [
        ...new Set(
          [...registration.domains, ...(registration.wildcards ?? []).map((b) => `*.${b}`)].map(
            normalizeName,
          ),
        ),
      ].sort();
  return {
    domains: requested,
    keyType: isKeyType(keyType) ? keyType : DEFAULT_KEY_TYPE,
    ...(profile ? { profile } : {}),
    issuer,
    ...(acm !== undefined ? { acm } : {}),
    problems,
  };
}

/**
 * Creates or updates the record of one registration. A valid request that differs from
 * the stored one (names, key type, profile, issuer) is scheduled now, with the backoff
 * reset; an unchanged one is left alone. An invalid request makes the record `invalid`
 * with every problem spelled out, and unscheduled: it waits for the next change (asked
 * again with the same problems, it answers `stillInvalid` and writes nothing).
 */
export async function registerCertificate(
  deps: RegistrationDeps,
  registration: Registration,
): Promise<RegistrationOutcome> {
  const request = readRequest(registration, deps);
  const now = deps.clock.now();
  const log = deps.logger.child({ record: registration.id });

  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await deps.records.get(registration.id);
    const invalid = request.problems.length > 0;
    // Without an issuer tag a record follows the deployment's target issuer, which the
    // issuer rotation moves in batches: the default changing is not a registration change.
    const pinned = registration.issuer !== undefined;
    const issuer = !pinned && existing && !existing.issuerPinned ? existing.issuer : request.issuer;
    const fields = {
      domains: request.domains,
      keyType: request.keyType,
      profile: request.profile,
      issuer,
      issuerPinned: pinned ? true : undefined,
      // An invalid request keeps what was imported, so fixing the tag finds the same ARN.
      acm: invalid ? existing?.acm : nextAcmImport(existing?.acm, request.acm),
      ...(registration.registeredBy ? { registeredBy: registration.registeredBy } : {}),
      ...(invalid
        ? {
            status: 'invalid' as const,
            statusMessage: request.problems.join('; '),
            nextAttemptAt: undefined,
          }
        : {}),
    };
    try {
      if (!existing) {
        const record: Omit<CertificateRecord, 'version'> = {
          id: registration.id,
          shard: shardFor(registration.id),
          ...fields,
          status: invalid ? 'invalid' : 'pending',
          ...(invalid ? {} : { nextAttemptAt: now }),
          failures: 0,
          createdAt: now,
          updatedAt: now,
        };
        await deps.records.create(record);
        log.info(invalid ? `registered as invalid: ${fields.statusMessage}` : 'registered', {
          rule: invalid ? 'InvalidRequest' : 'NewRegistration',
          domains: request.domains,
        });
        return invalid ? 'invalid' : 'created';
      }
      const same =
        sameNames(existing.domains, request.domains) &&
        existing.keyType === request.keyType &&
        existing.profile === request.profile &&
        existing.issuer === issuer &&
        Boolean(existing.issuerPinned) === pinned &&
        existing.acm?.target === fields.acm?.target;
      if (
        same &&
        existing.status !== 'unmanaged' &&
        (existing.status === 'invalid') === invalid &&
        (!invalid || existing.statusMessage === fields.statusMessage)
      ) {
        return invalid ? 'stillInvalid' : 'unchanged';
      }
      const updated: CertificateRecord = {
        ...existing,
        ...fields,
        // A rotation's identity marker belongs to the issuer it was set for.
        ...(existing.issuer !== issuer ? { issuerIdentity: undefined } : {}),
        updatedAt: now,
        ...(invalid
          ? {}
          : {
              status: existing.current ? 'active' : 'pending',
              statusMessage: undefined,
              nextAttemptAt: now,
              failures: 0,
              lastError: undefined,
            }),
      };
      await deps.records.put(updated, existing.version);
      log.info(
        invalid
          ? `registration now invalid: ${fields.statusMessage}`
          : 'registration changed; scheduled now',
        {
          rule: invalid ? 'InvalidRequest' : 'RegistrationChanged',
          domains: request.domains,
        },
      );
      return invalid ? 'invalid' : 'updated';
    } catch (error) {
      if (error instanceof CertloopError && error.kind === 'conflict') continue;
      throw error;
    }
  }
  throw new CertloopError(
    'conflict',
    `record ${registration.id} kept changing while registering; try again`,
  );
}

/**
 * Stops managing a record whose registration was removed (its `certloop:domains` tag is
 * gone): it becomes `unmanaged` and unscheduled, and the secret is left as it is. The
 * record is kept, so tagging the secret again resumes with the known certificate.
 */
export async function unregisterCertificate(
  deps: RegistrationDeps,
  id: string,
  why: string,
): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await deps.records.get(id);
    if (!existing || existing.status === 'unmanaged') return false;
    try {
      await deps.records.put(
        {
          ...existing,
          status: 'unmanaged',
          statusMessage: why,
          nextAttemptAt: undefined,
          order: undefined,
          updatedAt: deps.clock.now(),
        },
        existing.version,
      );
      deps.logger.info(`unmanaged: ${why}`, { record: id, rule: 'RegistrationRemoved' });
      return true;
    } catch (error) {
      if (error instanceof CertloopError && error.kind === 'conflict') continue;
      throw error;
    }
  }
  throw new CertloopError(
    'conflict',
    `record ${id} kept changing while unregistering; the next sweep tries again`,
  );
}
