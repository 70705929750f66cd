import { asCertloopError } from '../core/errors.js';
import { registrationFromTags } from '../core/registration-tags.js';
import type { RegistrationSource } from '../ports/registration-source.js';
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
}

/**
 * The periodic sweep: read every registered secret's tags and create or update its
 * record. It catches whatever a tag-change event missed. One secret that fails never
 * stops the others: its error is logged and counted.
 */
export async function sweepRegistrations(
  deps: RegistrationDeps,
  source: RegistrationSource,
): Promise<SweepReport> {
  const outcomes: SweepReport['outcomes'] = {
    created: 0,
    updated: 0,
    unchanged: 0,
    invalid: 0,
    error: 0,
  };
  let seen = 0;
  const listed = new Set<string>();
  for await (const secret of source.listRegistered()) {
    seen += 1;
    listed.add(secret.id);
    const registration = registrationFromTags(secret.id, secret.tags);
    if (!registration) continue;
    try {
      outcomes[await registerCertificate(deps, registration)] += 1;
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
  deps.logger.info('sweep finished', { seen, unmanaged, ...outcomes });
  return { seen, outcomes, unmanaged };
}
