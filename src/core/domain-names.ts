/**
 * Which names a deployment may request, and whether a requested list is acceptable.
 * Every problem is reported as a sentence a person can act on.
 */
export interface NamePolicy {
  /**
   * DNS suffixes the deployment may request names under (for example the hosted
   * zones it controls). A name is allowed when it equals a suffix or ends with
   * "." + suffix.
   */
  allowedSuffixes: readonly string[];
  /** Most names in one certificate (Let's Encrypt allows 100). */
  maxNames: number;
}

export const DEFAULT_MAX_NAMES = 100;

export type NameValidation = { ok: true; names: string[] } | { ok: false; problems: string[] };

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
/** A name (not an IPv6 address: those hold several colons) followed by `:port`. */
const HOST_AND_PORT = /^[^:]*[a-z*][^:]*:\d{1,5}$/;

/** Lower-cases and drops one trailing dot; does not validate. */
export function normalizeName(name: string): string {
  const trimmed = name.trim().toLowerCase();
  return trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
}

/** The problem with one DNS name (wildcards allowed as a whole first label), or undefined. */
export function problemWithName(name: string): string | undefined {
  if (name.length === 0) return 'an empty name';
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(name) || name.includes('/')) {
    return `"${name}" is a URL, not a DNS name; give only the host name (for example "www.example.com")`;
  }
  if (HOST_AND_PORT.test(name)) {
    return `"${name}" carries a port, which is not a DNS name; give only the host name ("${name.slice(0, name.lastIndexOf(':'))}")`;
  }
  if (IPV4.test(name) || name.includes(':')) {
    return `"${name}" is an IP address; certloop requests DNS names only (DNS-01 cannot validate IP addresses)`;
  }
  if (/[^\x21-\x7e]/.test(name)) {
    return `"${name}" contains spaces or non-ASCII characters; write internationalized names in their punycode (xn--) form`;
  }
  if (name.length > 253) {
    return `"${name.slice(0, 40)}..." is ${name.length} characters long; a DNS name has at most 253`;
  }
  const labels = name.split('.');
  if (labels.length < 2) {
    return `"${name}" is a single label; request a fully qualified name such as "www.${name}.com"`;
  }
  for (const [index, label] of labels.entries()) {
    if (label === '*' && index === 0) continue;
    if (label.includes('*')) {
      return index === 0
        ? `"${name}": a wildcard must be the whole first label ("*.example.com"), not part of it ("${label}")`
        : `"${name}": "*" may only stand as the whole first label, not in "${label}"`;
    }
    if (label.length === 0)
      return `"${name}" has an empty label (two dots in a row, or a leading dot)`;
    if (label.length > 63) {
      return `"${name}": the label "${label.slice(0, 20)}..." is ${label.length} characters long; a DNS label has at most 63`;
    }
    if (!LABEL.test(label)) {
      return `"${name}": the label "${label}" may only hold letters, digits and inner hyphens`;
    }
  }
  if (labels[0] === '*' && labels.length < 3) {
    return `"${name}": a wildcard directly under a top-level domain is never issued`;
  }
  return undefined;
}

function isUnderSuffix(name: string, suffix: string): boolean {
  return name === suffix || name.endsWith(`.${suffix}`);
}

/**
 * Validates the names of one certificate request against the policy.
 * `domains` are plain names; each of `wildcards` is a base name `b` requesting `*.b`.
 * On success the names are normalized, de-duplicated and sorted.
 */
export function validateRequestedNames(
  input: { domains: readonly string[]; wildcards?: readonly string[] },
  policy: NamePolicy,
): NameValidation {
  const problems: string[] = [];
  const requested = [
    ...input.domains.map(normalizeName),
    ...(input.wildcards ?? []).map((base) => {
      const b = normalizeName(base);
      return b.startsWith('*.') ? b : `*.${b}`;
    }),
  ];
  const names = [...new Set(requested)].sort();

  if (names.length === 0) {
    return { ok: false, problems: ['no names requested: give at least one domain or wildcard'] };
  }
  if (names.length > policy.maxNames) {
    problems.push(
      `${names.length} names requested; one certificate holds at most ${policy.maxNames}: split them over several secrets`,
    );
  }
  const suffixes = policy.allowedSuffixes.map(normalizeName);
  for (const name of names) {
    const problem = problemWithName(name);
    if (problem) {
      problems.push(problem);
      continue;
    }
    const base = name.startsWith('*.') ? name.slice(2) : name;
    if (!suffixes.some((suffix) => isUnderSuffix(base, suffix))) {
      problems.push(
        `"${name}" is outside the allowed suffixes (${suffixes.join(', ') || 'none configured'}); add its zone to the deployment's allowed suffixes or remove the name`,
      );
    }
  }
  for (const name of names) {
    if (name.startsWith('*.')) continue;
    const parent = name.slice(name.indexOf('.') + 1);
    if (names.includes(`*.${parent}`)) {
      problems.push(`"${name}" is already covered by "*.${parent}" in the same request; remove it`);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, names };
}
