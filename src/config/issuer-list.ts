import * as z from 'zod/mini';
import { ConfigError } from './env-values.js';
import { ENV } from './environment.js';
import { type IssuerConfig, readIssuers } from './runtime-config.js';
import './zod-messages.js';

/**
 * The issuers as one list, the form the CDK app's `issuers` context key takes:
 * `[{"name":"le","directoryUrl":"https://...","default":true}, {"name":"zerossl",...}]`.
 * Each entry is a CERTLOOP_ISSUERS issuer plus its `name` and an optional `default` flag.
 *
 * The list is checked here for what only a list can get wrong (a name given twice, more
 * than one default, no way to tell the default), then turned into the CERTLOOP_ISSUERS
 * record and checked by `readIssuers`, the functions' own reader: an issuer the list
 * accepts is one the functions accept at cold start, refused with the same message.
 */

/** A checked issuer list: the CERTLOOP_ISSUERS record and CERTLOOP_DEFAULT_ISSUER. */
export interface IssuerSet {
  issuers: Record<string, IssuerConfig>;
  defaultIssuer: string;
}

/** A problem only the list form can have (the record form cannot even express it). */
export class IssuerListError extends Error {
  constructor(problem: string) {
    super(problem);
    this.name = 'IssuerListError';
  }
}

const issuerListSchema = z
  .array(
    // The issuer's own fields are left to readIssuers (strict: unknown fields are refused).
    z.looseObject({
      name: z.string('every issuer needs a "name"'),
      default: z.optional(z.boolean('must be true or false')),
    }),
    'must be a JSON list of issuers, e.g. [{"name":"le","directoryUrl":"https://acme-v02.api.letsencrypt.org/directory"}]',
  )
  .check(z.minLength(1, 'names no issuer; list at least one'));

/**
 * Turns the list into the CERTLOOP_ISSUERS record and the default issuer: the one marked
 * `"default": true`, else the only one, else the one named `default`. Throws
 * IssuerListError for a list-only problem, and readIssuers' ConfigError
 * (`CERTLOOP_ISSUERS: <name>.<field>: ...`) for a malformed issuer.
 */
export function readIssuerList(value: unknown): IssuerSet {
  const parsed = issuerListSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? `entry ${issue.path.join('.')}: ` : '';
    throw new IssuerListError(`${path}${issue?.message ?? 'invalid'}`);
  }
  const record: Record<string, unknown> = {};
  const defaults: string[] = [];
  for (const { name, default: isDefault, ...issuer } of parsed.data) {
    if (Object.hasOwn(record, name)) throw new IssuerListError(`issuer "${name}" is listed twice`);
    record[name] = issuer;
    if (isDefault) defaults.push(name);
  }
  if (defaults.length > 1) {
    throw new IssuerListError(
      `more than one issuer is marked "default": true (${defaults.join(', ')}); mark one`,
    );
  }
  const issuers = readDeployedIssuers(record);
  const names = Object.keys(issuers);
  const defaultIssuer =
    defaults[0] ?? (names.length === 1 ? names[0] : names.includes('default') ? 'default' : '');
  if (!defaultIssuer) {
    throw new IssuerListError(
      `mark the issuer of secrets that name none with "default": true (${names.join(', ')})`,
    );
  }
  return { issuers, defaultIssuer };
}

/**
 * The issuers of a deployment, checked as the functions check CERTLOOP_ISSUERS at cold
 * start (`readIssuers`, same messages), minus what only local mode can use: a file of
 * the EAB HMAC key (`eab.hmacKeyFile`; a deployment names a Secrets Manager secret) and
 * an extra CA file to trust (`trustedCaFile`, for a local pebble).
 */
export function readDeployedIssuers(
  issuers: Record<string, unknown>,
): Record<string, IssuerConfig> {
  for (const [name, issuer] of Object.entries(issuers)) {
    if (!isObject(issuer)) continue;
    if (Object.hasOwn(issuer, 'trustedCaFile')) {
      throw new ConfigError(
        ENV.issuers,
        `${name}.trustedCaFile: local mode only; a deployed function cannot read a file of this machine`,
      );
    }
    if (isObject(issuer.eab) && Object.hasOwn(issuer.eab, 'hmacKeyFile')) {
      throw new ConfigError(
        ENV.issuers,
        `${name}.eab.hmacKeyFile: local mode only; a deployment names the Secrets Manager secret that holds the HMAC key (hmacKeySecretArn)`,
      );
    }
  }
  return readIssuers({ [ENV.issuers]: JSON.stringify(issuers) });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
