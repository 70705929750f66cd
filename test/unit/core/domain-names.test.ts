import { describe, expect, it } from 'vitest';
import { type NamePolicy, validateRequestedNames } from '../../../src/core/domain-names.js';

const policy: NamePolicy = { allowedSuffixes: ['example.test', 'team.example.org'], maxNames: 5 };

describe('validateRequestedNames', () => {
  it.each([
    [
      'a single name under an allowed suffix',
      { domains: ['www.example.test'] },
      ['www.example.test'],
    ],
    ['the allowed suffix itself', { domains: ['example.test'] }, ['example.test']],
    [
      'an apex plus its wildcard',
      { domains: ['example.test'], wildcards: ['example.test'] },
      ['*.example.test', 'example.test'],
    ],
    [
      'mixed case and a trailing dot, normalized',
      { domains: ['WWW.Example.Test.'] },
      ['www.example.test'],
    ],
    [
      'duplicates, collapsed',
      { domains: ['a.example.test', 'A.example.test'] },
      ['a.example.test'],
    ],
    [
      'a punycode label',
      { domains: ['xn--bcher-kva.example.test'] },
      ['xn--bcher-kva.example.test'],
    ],
    [
      'a deeper zone listed as its own suffix',
      { domains: ['api.team.example.org'] },
      ['api.team.example.org'],
    ],
  ])('accepts %s', (_sentence, input, expected) => {
    expect(validateRequestedNames(input, policy)).toEqual({ ok: true, names: expected });
  });

  it.each([
    ['an empty list', { domains: [] }, /no names requested/],
    ['a "*" inside a label', { domains: ['w*w.example.test'] }, /whole first label/],
    [
      'a "*" below the first label',
      { domains: ['a.*.example.test'] },
      /only stand as the whole first label/,
    ],
    ['an IPv4 address', { domains: ['192.0.2.1'] }, /IP address/],
    ['an IPv6 address', { domains: ['2001:db8::1'] }, /IP address/],
    ['an IPv4 address with a port', { domains: ['192.0.2.1:443'] }, /IP address/],
    ['a URL', { domains: ['https://www.example.test/'] }, /is a URL, not a DNS name/],
    ['a host and path', { domains: ['www.example.test/login'] }, /is a URL, not a DNS name/],
    [
      'a host with a port',
      { domains: ['www.example.test:8443'] },
      /carries a port.*"www\.example\.test"/,
    ],
    ['a 64-character label', { domains: [`${'a'.repeat(64)}.example.test`] }, /at most 63/],
    [
      'a name longer than 253 characters',
      { domains: [`${'abcdefghi.'.repeat(25)}example.test`] },
      /at most 253/,
    ],
    [
      'a name outside the allowed suffixes',
      { domains: ['www.example.com'] },
      /outside the allowed suffixes/,
    ],
    [
      'a look-alike suffix without a dot boundary',
      { domains: ['badexample.test'] },
      /outside the allowed suffixes/,
    ],
    [
      'too many names',
      { domains: ['a', 'b', 'c', 'd', 'e', 'f'].map((l) => `${l}.example.test`) },
      /6 names requested; one certificate holds at most 5/,
    ],
    ['a single label', { domains: ['localhost'] }, /single label/],
    ['an underscore', { domains: ['a_b.example.test'] }, /letters, digits and inner hyphens/],
    ['a leading hyphen', { domains: ['-a.example.test'] }, /letters, digits and inner hyphens/],
    ['an empty label', { domains: ['a..example.test'] }, /empty label/],
    ['a non-ASCII name', { domains: ['bücher.example.test'] }, /punycode/],
    [
      'a name already covered by a wildcard in the request',
      { domains: ['a.example.test'], wildcards: ['example.test'] },
      /already covered/,
    ],
    [
      'a wildcard right under a top-level domain',
      { domains: [], wildcards: ['test'] },
      /top-level/,
    ],
  ])('rejects %s with a message a person can act on', (_sentence, input, message) => {
    const result = validateRequestedNames(input, policy);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join('\n')).toMatch(message);
  });

  it('reports every problem of a request, not only the first', () => {
    const result = validateRequestedNames({ domains: ['192.0.2.1', 'x.example.com'] }, policy);
    expect(result).toEqual({
      ok: false,
      problems: [expect.stringMatching(/IP address/), expect.stringMatching(/outside/)],
    });
  });

  it('allows nothing when no suffix is configured, and says so', () => {
    const result = validateRequestedNames(
      { domains: ['a.example.test'] },
      { allowedSuffixes: [], maxNames: 100 },
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]).toMatch(/none configured/);
  });
});
