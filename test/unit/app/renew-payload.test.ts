import { describe, expect, it } from 'vitest';
import { PayloadError, parseRenewPayload } from '../../../src/app/renew-payload.js';

describe('parseRenewPayload', () => {
  it.each([
    [{ secret: 'tls/www' }, { secret: 'tls/www' }],
    [{ domain: 'www.example.com', reason: 'key compromise' }, { domain: 'www.example.com' }],
    [{ serials: ['03:AB:cd', '0FF1CE'] }, { serials: ['03:AB:cd', '0FF1CE'] }],
    [{ issuer: 'staging' }, { issuer: 'staging' }],
    [{ all: true, dryRun: true }, { all: true }],
  ])('reads %j', (payload, selector) => {
    const request = parseRenewPayload(payload);
    expect(request.selector).toEqual(selector);
    expect(request.dryRun).toBe((payload as { dryRun?: boolean }).dryRun ?? false);
    expect(request.reason).toBe((payload as { reason?: string }).reason ?? 'manual renewal');
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', 'renew everything', /must be a JSON object/],
    ['an array', [{ secret: 'x' }], /must be a JSON object/],
    ['a URL as the domain', { domain: 'https://www.example.com/' }, /"domain" .*is a URL/],
    ['an IP address as the domain', { domain: '192.0.2.7' }, /"domain" .*IP address/],
    ['null', null, /must be a JSON object/],
    [
      'no selector',
      { reason: 'because' },
      /name what to renew: one of secret, domain, serials, issuer, all/,
    ],
    [
      'two selectors',
      { secret: 'a', domain: 'b.example.com' },
      /exactly one selector, not secret and domain/,
    ],
    ['all set to false', { all: false }, /"all" must be true/],
    ['all as a string', { all: 'yes' }, /"all" must be true/],
    ['an empty serial list', { serials: [] }, /at least one serial/],
    ['a serial that is not hex', { serials: ['xyz'] }, /hexadecimal/],
    ['serials as a string', { serials: '03AB' }, /"serials"/],
    ['an empty secret', { secret: '  ' }, /"secret" must name a secret/],
    ['a misspelt field', { domian: 'www.example.com' }, /unknown field "domian"/],
    ['dryRun as a string', { all: true, dryRun: 'true' }, /"dryRun" must be true or false/],
    ['an empty reason', { all: true, reason: '' }, /"reason" must not be empty/],
    ['a reason that is an essay', { all: true, reason: 'x'.repeat(501) }, /longer than 500/],
  ])('refuses %s with a message saying what to change', (_sentence, payload, message) => {
    expect(() => parseRenewPayload(payload)).toThrow(PayloadError);
    expect(() => parseRenewPayload(payload)).toThrow(message);
  });
});
