/** The tags a user puts on a secret to register it (DESIGN.md section 1). */
export const TAGS = {
  domains: 'certloop:domains',
  wildcards: 'certloop:wildcards',
  key: 'certloop:key',
  profile: 'certloop:profile',
  issuer: 'certloop:issuer',
} as const;

/** What a user asked for, as read from tags or from the local config file. */
export interface RegistrationRequest {
  /** The secret the certificate goes to. */
  id: string;
  domains: readonly string[];
  /** Base names; each `b` requests `*.b`. */
  wildcards?: readonly string[];
  keyType?: string;
  profile?: string;
  issuer?: string;
  /** Where it was read from; only tag registrations are unmanaged by a sweep. */
  registeredBy?: 'tags' | 'config';
}

function words(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter(Boolean);
}

/**
 * Reads a registration from a secret's tags, or `undefined` when the secret carries no
 * `certloop:domains` tag (it is not managed). AWS tag values cannot hold `*` or `,`, so
 * names are space-separated and wildcards are given by base name. Values are passed on
 * as written; validation happens at registration and names every problem.
 */
export function registrationFromTags(
  id: string,
  tags: Readonly<Record<string, string>>,
): RegistrationRequest | undefined {
  if (!(TAGS.domains in tags)) return undefined;
  const keyType = tags[TAGS.key]?.trim();
  const profile = tags[TAGS.profile]?.trim();
  const issuer = tags[TAGS.issuer]?.trim();
  return {
    id,
    registeredBy: 'tags',
    domains: words(tags[TAGS.domains]),
    wildcards: words(tags[TAGS.wildcards]),
    ...(keyType ? { keyType } : {}),
    ...(profile ? { profile } : {}),
    ...(issuer ? { issuer } : {}),
  };
}
