/** The tags a user puts on a secret to register it, and what each may hold. */
export const TAGS = {
  domains: 'certloop:domains',
  wildcards: 'certloop:wildcards',
  key: 'certloop:key',
  profile: 'certloop:profile',
  issuer: 'certloop:issuer',
  acm: 'certloop:acm',
} as const;

/** The tag of a secret that holds a session-ticket key ring (its value: the set id). */
export const STEK_TAG = 'certloop:stek';

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
  /** `certloop:acm`: `new` or an ACM certificate ARN to import each certificate into. */
  acm?: string;
  /** Where it was read from; only tag registrations are unmanaged by a sweep. */
  registeredBy?: 'tags' | 'config';
  /**
   * Problems with the secret's other `certloop:` tags (misspelt, or marking
   * it as a STEK set too); registration makes the record `invalid` with them.
   */
  tagProblems?: readonly string[];
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
  const acm = tags[TAGS.acm]?.trim();
  const tagProblems = otherTagProblems(tags);
  return {
    id,
    registeredBy: 'tags',
    domains: words(tags[TAGS.domains]),
    wildcards: words(tags[TAGS.wildcards]),
    ...(keyType ? { keyType } : {}),
    ...(profile ? { profile } : {}),
    ...(issuer ? { issuer } : {}),
    ...(acm !== undefined ? { acm } : {}),
    ...(tagProblems.length > 0 ? { tagProblems } : {}),
  };
}

const KNOWN_TAGS: readonly string[] = Object.values(TAGS);

/**
 * Every tag whose key starts with `certloop:` (in any case) must be one certloop reads:
 * a misspelt optional tag (`certloop:kye`) would otherwise be ignored without a word and
 * the certificate issued with defaults the user did not ask for.
 */
function otherTagProblems(tags: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(tags).sort()) {
    if (!key.toLowerCase().startsWith('certloop:') || KNOWN_TAGS.includes(key)) continue;
    if (key === STEK_TAG) {
      problems.push(
        `tag "${STEK_TAG}" marks a session-ticket key set; one secret cannot hold both a STEK ring and a certificate`,
      );
      continue;
    }
    const near = KNOWN_TAGS.find((known) => nearlyEqual(key.toLowerCase(), known));
    problems.push(
      `tag "${key.slice(0, 128)}" is not a certloop tag${near ? ` (did you mean "${near}"?)` : ''}; ` +
        `certloop reads ${KNOWN_TAGS.join(', ')}`,
    );
  }
  return problems;
}

/** At most two single-character edits (insert, delete, substitute) apart. */
function nearlyEqual(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 2) return false;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = row;
  }
  return (previous[b.length] ?? 0) <= 2;
}
