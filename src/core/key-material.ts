const REDACTED = '[redacted key material]';

/**
 * A private key (PEM) that refuses to be printed. `String(key)`, template strings,
 * `JSON.stringify` and `util.inspect` all render a placeholder; only `reveal()` gives
 * the PEM, and only adapters that write it to a secret store or hand it to a TLS
 * library call it. This keeps key material out of logs, errors and metrics by
 * construction rather than by discipline.
 */
export class KeyMaterial {
  readonly #pem: string;

  constructor(pem: string) {
    if (!pem.includes('PRIVATE KEY')) {
      throw new TypeError('KeyMaterial expects a PEM-encoded private key');
    }
    this.#pem = pem;
  }

  reveal(): string {
    return this.#pem;
  }

  equals(other: KeyMaterial): boolean {
    return this.#pem === other.#pem;
  }

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
