import { asCertloopError } from '../core/errors.js';
import { registrationFromTags } from '../core/registration-tags.js';
import type { RegistrationSource } from '../ports/registration-source.js';
import { type AnnounceDeps, announceInvalidRegistrations } from './announce-outcomes.js';
import {
  type RegistrationDeps,
  type RegistrationOutcome,
  registerCertificate,
  unregisterCertificate,
} from './register-certificates.js';

export interface SweepReport {
  seen: number;
  outcomes: Record<RegistrationOutcome | 'error', number>;
  /** Tag registrations whose secret no longer carries certloop:domains. */
  unmanaged: number;
  /** `Certificate Invalid` events for registrations written invalid by this sweep. */
  events: { published: number; failed: number };
}

/**
 * The periodic sweep: read every registered secret's tags and create or update its
 * record. It catches whatever a tag-change event missed. One secret that fails never
 * stops the others: its error is logged and counted. Registrations it writes invalid are
 * announced once the sweep is done (when `announce` is given); an announcement that
 * fails is counted, never thrown.
 */
export async function sweepRegistrations(
  deps: RegistrationDeps,
  source: RegistrationSource,
  announce?: Pick<AnnounceDeps, 'bus'>,
): Promise<SweepReport> {
  const outcomes: SweepReport['outcomes'] = {
    created: 0,
    updated: 0,
    unchanged: 0,
    invalid: 0,
    stillInvalid: 0,
    error: 0,
  };
  const invalidated: string[] = [];
  let seen = 0;
  const listed = new Set<string>();
  for await (const secret of source.listRegistered()) {
    seen += 1;
    listed.add(secret.id);
    const registration = registrationFromTags(secret.id, secret.tags);
    if (!registration) continue;
    try {
      const outcome = await registerCertificate(deps, registration);
      outcomes[outcome] += 1;
      if (outcome === 'invalid') invalidated.push(secret.id);
    } catch (error) {
      outcomes.error += 1;
      deps.logger.error('registration failed; the next sweep tries again', {
        record: secret.id,
        error: asCertloopError(error).message,
      });
    }
  }
  // Only a complete listing gets here (a failed listing throws above), so a record
  // registered by tags that was not listed has lost its certloop:domains tag.
  let unmanaged = 0;
  for (const record of await deps.records.list()) {
    if (record.registeredBy !== 'tags' || record.status === 'unmanaged' || listed.has(record.id))
      continue;
    try {
      if (
        await unregisterCertificate(
          deps,
          record.id,
          'the certloop:domains tag was removed; the secret is left as it is',
        )
      )
        unmanaged += 1;
    } catch (error) {
      outcomes.error += 1;
      deps.logger.error('unregistering failed; the next sweep tries again', {
        record: record.id,
        error: asCertloopError(error).message,
      });
    }
  }
  const events = announce
    ? await announceInvalidRegistrations({ ...deps, bus: announce.bus }, invalidated)
    : { published: 0, failed: 0 };
  deps.logger.info('sweep finished', { seen, unmanaged, ...outcomes, events });
  return { seen, outcomes, unmanaged, events };
}
