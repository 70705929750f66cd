import type { CertificateRecord } from '../core/certificate-record.js';
import { asCertloopError, CertloopError } from '../core/errors.js';
import type { AcmeCa, OrderState } from '../ports/acme-ca.js';
import type { IssuanceDeps } from './issuance-deps.js';

/**
 * Places the order, with `replaces` when there is a predecessor. A CA that refuses the
 * field (`alreadyReplaced`: another order already replaced it; `malformed`: it does not
 * know the certificate) gets the same order once more without it, and the log says why.
 */
export async function placeOrder(
  deps: IssuanceDeps,
  ca: AcmeCa,
  record: CertificateRecord,
  replaces: string | undefined,
): Promise<{ state: OrderState; replaced: boolean }> {
  const request = {
    domains: record.domains,
    ...(record.profile ? { profile: record.profile } : {}),
  };
  if (!replaces) return { state: await ca.placeOrder(request), replaced: false };
  try {
    return { state: await ca.placeOrder({ ...request, replaces }), replaced: true };
  } catch (error) {
    const refusal = asCertloopError(error, 'ca');
    if (refusal.problem !== 'alreadyReplaced' && refusal.problem !== 'malformed') throw error;
    deps.logger.warn('the CA refused replaces; ordering once more without it', {
      record: record.id,
      rule: 'ReplacesRefused',
      replaces,
      problem: refusal.problem,
      error: refusal.message,
    });
    return { state: await ca.placeOrder(request), replaced: false };
  }
}

/**
 * A profile the CA's directory does not advertise (`meta.profiles`) cannot heal by
 * waiting: the record becomes `invalid` with the names the CA offers. A CA that
 * advertises no profiles gets the profile as written.
 */
export async function checkProfileOffered(ca: AcmeCa, record: CertificateRecord): Promise<void> {
  if (!record.profile) return;
  const offered = await ca.profiles();
  if (!offered || Object.hasOwn(offered, record.profile)) return;
  throw new CertloopError(
    'permanent',
    `profile "${record.profile}" (certloop:profile) is not offered by issuer "${record.issuer}"; ` +
      `it offers: ${Object.keys(offered).sort().join(', ')}`,
    { source: 'policy' },
  );
}
