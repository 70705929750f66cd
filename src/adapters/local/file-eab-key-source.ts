/**
 * Local mode: an issuer's External Account Binding HMAC key in a file holding just the
 * key, base64url as the CA gave it (surrounding whitespace is ignored). Read on every
 * call. Failures are CertloopError `infrastructure` with `accountSetup`, naming the
 * issuer and the file, never its contents.
 */
import { readFile } from 'node:fs/promises';
import { CertloopError } from '../../core/errors.js';
import { HmacKey, isUsableHmacKey, MIN_HMAC_KEY_BYTES } from '../../core/key-material.js';
import type { EabKeySource } from '../../ports/eab-key-source.js';
import { DIRECTORY_SOURCE } from './directory-files.js';

export class FileEabKeySource implements EabKeySource {
  readonly location: string;
  readonly #issuer: string;

  constructor(options: { issuer: string; path: string }) {
    this.#issuer = options.issuer;
    this.location = options.path;
  }

  async readHmacKey(): Promise<HmacKey> {
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw this.#error(code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`);
    }
    const key = text.trim();
    if (!isUsableHmacKey(key)) {
      throw this.#error(`does not hold base64url of at least ${MIN_HMAC_KEY_BYTES} bytes`);
    }
    return new HmacKey(key);
  }

  #error(reason: string): CertloopError {
    return new CertloopError(
      'infrastructure',
      `issuer "${this.#issuer}": the External Account Binding HMAC key file ${this.location} ${reason}`,
      { source: DIRECTORY_SOURCE, accountSetup: true },
    );
  }
}
