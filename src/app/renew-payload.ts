import * as z from 'zod/mini';
import '../config/zod-messages.js';
import { normalizeName, problemWithName } from '../core/domain-names.js';
import type { ForceRenewalRequest } from '../services/force-renewal.js';

const SELECTORS = ['secret', 'domain', 'serials', 'issuer', 'all'] as const;

const payloadSchema = z.strictObject({
  secret: z.optional(
    z
      .string()
      .check(z.trim(), z.minLength(1, 'must name a secret (ARN or name)'), z.maxLength(2048)),
  ),
  domain: z.optional(
    z.string().check(z.trim(), z.minLength(1, 'must be a DNS name'), z.maxLength(253)),
  ),
  serials: z.optional(
    z
      .array(
        z
          .string()
          .check(z.trim(), z.regex(/^[0-9A-Fa-f:]{1,128}$/, 'must be hexadecimal serial numbers')),
      )
      .check(
        z.minLength(1, 'must list at least one serial'),
        z.maxLength(10_000, 'lists more than 10000 serials; split the request'),
      ),
  ),
  issuer: z.optional(
    z.string().check(z.trim(), z.minLength(1, 'must name an issuer'), z.maxLength(64)),
  ),
  all: z.optional(z.literal(true, 'must be true (to renew everything)')),
  reason: z.optional(
    z
      .string()
      .check(
        z.trim(),
        z.minLength(1, 'must not be empty'),
        z.maxLength(500, 'is longer than 500 characters'),
      ),
  ),
  dryRun: z.optional(z.boolean('must be true or false')),
  ariCheck: z.optional(z.boolean('must be true or false')),
});

/** Why a payload was refused: the message says what to change. */
export class PayloadError extends Error {
  override name = 'PayloadError';
}

/**
 * Reads a Renew invoke payload: exactly one selector (`secret`, `domain`, `serials`,
 * `issuer` or `all: true`), an optional `reason` and `dryRun`, and `ariCheck` (re-check
 * the CA's renewal information of the selected certificates instead of forcing them). Unknown fields are
 * refused (a typo must not silently renew everything).
 */
export function parseRenewPayload(payload: unknown): ForceRenewalRequest {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new PayloadError(
      `the payload must be a JSON object with one of: ${SELECTORS.join(', ')}`,
    );
  }
  const parsed = payloadSchema.safeParse(payload);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')} (allowed: ${[...SELECTORS, 'reason', 'dryRun', 'ariCheck'].join(', ')})`
        : `"${issue.path.join('.')}" ${issue.message}`,
    );
    throw new PayloadError(problems.join('; '));
  }
  const data = parsed.data;
  const given = SELECTORS.filter((key) => data[key] !== undefined);
  if (given.length !== 1) {
    throw new PayloadError(
      given.length === 0
        ? `name what to renew: one of ${SELECTORS.join(', ')}`
        : `give exactly one selector, not ${given.join(' and ')}`,
    );
  }
  if (data.domain !== undefined) {
    const problem = problemWithName(normalizeName(data.domain));
    if (problem) throw new PayloadError(`"domain" ${problem}`);
  }
  const selector =
    data.secret !== undefined
      ? { secret: data.secret }
      : data.domain !== undefined
        ? { domain: data.domain }
        : data.serials !== undefined
          ? { serials: data.serials }
          : data.issuer !== undefined
            ? { issuer: data.issuer }
            : { all: true as const };
  return {
    selector,
    reason: data.reason ?? 'manual renewal',
    dryRun: data.dryRun ?? false,
    ...(data.ariCheck ? { ariCheck: true } : {}),
  };
}
