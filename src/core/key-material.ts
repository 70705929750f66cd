const REDACTED = '[redacted key material]';

/** Renders only a placeholder in strings, JSON and util.inspect; subclasses hold the secret. */
abstract class Redacted {
  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED;
  }
}

/**
 * A private key (PEM) that refuses to be printed. `String(key)`, template strings,
 * `JSON.stringify` and `util.inspect` all render a placeholder; only `reveal()` gives
 * the PEM, and only adapters that write it to a secret store or hand it to a TLS
 * library call it. This keeps key material out of logs, errors and metrics by
 * construction rather than by discipline.
 */
export class KeyMaterial extends Redacted {
  readonly #pem: string;

  constructor(pem: string) {
    if (!pem.includes('PRIVATE KEY')) {
      throw new TypeError('KeyMaterial expects a PEM-encoded private key');
    }
    super();
    this.#pem = pem;
  }

  reveal(): string {
    return this.#pem;
  }

  equals(other: KeyMaterial): boolean {
    return this.#pem === other.#pem;
  }
}

/**
 * The HMAC key of an External Account Binding (RFC 8555 section 7.3.4), base64url as the
 * CA gives it. Like KeyMaterial it renders only a placeholder; `reveal()` is for the
 * ACME adapter that signs the binding with it.
 */
export class HmacKey extends Redacted {
  readonly #base64url: string;

  constructor(base64url: string) {
    if (!isUsableHmacKey(base64url))
      throw new TypeError(`HmacKey expects base64url of at least ${MIN_HMAC_KEY_BYTES} bytes`);
    super();
    this.#base64url = base64url;
  }

  reveal(): string {
    return this.#base64url;
  }
}

/** Bytes an EAB HMAC key must hold at least: shorter is a truncated copy, not a key. */
export const MIN_HMAC_KEY_BYTES = 16;

/**
 * Whether `text` is base64url (RFC 4648 section 5, padding allowed) of at least
 * MIN_HMAC_KEY_BYTES bytes.
 */
export function isUsableHmacKey(text: string): boolean {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(text)) return false;
  const digits = text.replace(/=+$/, '').length;
  if (digits % 4 === 1) return false;
  return Math.floor((digits * 3) / 4) >= MIN_HMAC_KEY_BYTES;
}
