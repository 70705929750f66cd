import { describe, expect, it } from 'vitest';
import { registrationFromTags, STEK_TAG, TAGS } from '../../../src/core/registration-tags.js';
import { parseWorkMessage } from '../../../src/core/work-message.js';

describe('registrationFromTags', () => {
  it('reads space-separated names, wildcard bases and the optional tags', () => {
    expect(
      registrationFromTags('arn:secret:web', {
        [TAGS.domains]: ' example.com  www.example.com ',
        [TAGS.wildcards]: 'example.com',
        [TAGS.key]: 'rsa-2048',
        [TAGS.profile]: 'tlsserver',
        [TAGS.issuer]: 'staging',
        team: 'web',
      }),
    ).toEqual({
      id: 'arn:secret:web',
      registeredBy: 'tags',
      domains: ['example.com', 'www.example.com'],
      wildcards: ['example.com'],
      keyType: 'rsa-2048',
      profile: 'tlsserver',
      issuer: 'staging',
    });
  });

  it('names every other certloop: tag it does not read, suggesting the tag meant', () => {
    const request = registrationFromTags('arn:secret:web', {
      [TAGS.domains]: 'www.example.com',
      'certloop:kye': 'rsa-2048',
      'Certloop:Issuer': 'staging',
      'certloop:colour': 'blue',
      'certloopish:x': 'not ours',
      team: 'web',
    });
    expect(request?.keyType).toBeUndefined();
    expect(request?.tagProblems).toEqual([
      expect.stringMatching(
        /^tag "Certloop:Issuer" is not a certloop tag \(did you mean "certloop:issuer"\?\); certloop reads certloop:domains, /,
      ),
      expect.stringMatching(/^tag "certloop:colour" is not a certloop tag; certloop reads /),
      expect.stringMatching(
        /^tag "certloop:kye" is not a certloop tag \(did you mean "certloop:key"\?\)/,
      ),
    ]);
  });

  it('reads certloop:acm as written and refuses certloop:stek beside the domains', () => {
    const request = registrationFromTags('arn:secret:web', {
      [TAGS.domains]: 'www.example.com',
      [TAGS.acm]: ' new ',
      [STEK_TAG]: 'edge',
    });
    expect(request?.acm).toBe('new');
    expect(request?.tagProblems).toEqual([
      'tag "certloop:stek" marks a session-ticket key set; one secret cannot hold both a STEK ring and a certificate',
    ]);
  });

  it('has no tagProblems when every certloop: tag is one it reads', () => {
    const request = registrationFromTags('arn:secret:web', {
      [TAGS.domains]: 'www.example.com',
      [TAGS.key]: 'ec-p384',
      'aws:cloudformation:stack-name': 'web',
    });
    expect(request).not.toHaveProperty('tagProblems');
  });

  it('says a secret without certloop:domains is not managed', () => {
    expect(
      registrationFromTags('arn:secret:db', { [TAGS.wildcards]: 'example.com', team: 'db' }),
    ).toBeUndefined();
  });

  it('passes an empty domains tag on as an empty request (registration then makes it invalid)', () => {
    expect(registrationFromTags('arn:secret:x', { [TAGS.domains]: '   ' })).toEqual({
      id: 'arn:secret:x',
      registeredBy: 'tags',
      domains: [],
      wildcards: [],
    });
  });
});

describe('parseWorkMessage', () => {
  it('reads the record id and due time', () => {
    expect(parseWorkMessage('{"id":"arn:secret:web","dueAt":5}')).toEqual({
      id: 'arn:secret:web',
      dueAt: 5,
    });
  });

  it.each([
    ['not JSON', 'hello', /not JSON/],
    ['JSON without an id', '{"dueAt":1}', /no "id"/],
    ['an empty id', '{"id":""}', /no "id"/],
    ['null', 'null', /no "id"/],
    ['an id longer than any ARN', JSON.stringify({ id: 'x'.repeat(3000) }), /longer than 2048/],
  ])('refuses %s, saying what is wrong', (_sentence, body, message) => {
    expect(() => parseWorkMessage(body)).toThrow(message);
  });
});
