import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HmacKey, isUsableHmacKey } from '../../../src/core/key-material.js';

// A made-up key for the rendering checks (32 bytes of 0x5a), not a real credential.
const KEY = Buffer.alloc(32, 0x5a).toString('base64url');

describe('an EAB HMAC key', () => {
  it('renders as a placeholder in strings, JSON and inspect; only reveal() gives it', () => {
    const key = new HmacKey(KEY);
    expect(key.reveal() === KEY).toBe(true);
    for (const rendered of [String(key), `${key}`, JSON.stringify({ key }), inspect({ key })]) {
      expect(rendered.includes(KEY)).toBe(false);
      expect(rendered).toContain('redacted');
    }
  });

  it.each([
    ['base64url of 32 bytes', KEY, true],
    ['base64url of 16 bytes, padded', Buffer.alloc(16, 1).toString('base64'), true],
    [
      'base64url of 15 bytes (too short to be a key)',
      Buffer.alloc(15, 1).toString('base64url'),
      false,
    ],
    ['standard base64 with + and /', `${KEY.slice(0, 40)}+/`, false],
    ['an impossible length', `${KEY}ab`, false],
    ['whitespace inside', `${KEY.slice(0, 20)} ${KEY.slice(20)}`, false],
    ['empty', '', false],
  ] as const)('%s is usable: %s', (_, text, usable) => {
    expect(isUsableHmacKey(text)).toBe(usable);
    if (!usable) expect(() => new HmacKey(text)).toThrow(TypeError);
  });
});
