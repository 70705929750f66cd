/**
 * An issuer's External Account Binding HMAC key in Secrets Manager. The secret's value
 * (AWSCURRENT, SecretString) is JSON: `{"hmacKey": "<base64url, as the CA gave it>"}`;
 * other fields are ignored (a `keyId` kept beside it for people is fine). The key is read
 * with GetSecretValue on every call, so a rotated secret is picked up at the next account
 * creation. Every failure is CertloopError `infrastructure` with `accountSetup`, naming the
 * issuer and the secret ARN; the value is never quoted, whatever its shape.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { CertloopError } from '../../core/errors.js';
import { HmacKey, isUsableHmacKey, MIN_HMAC_KEY_BYTES } from '../../core/key-material.js';
import type { EabKeySource } from '../../ports/eab-key-source.js';
import { CURRENT_STAGE, parseJson, readSecretStage } from './secrets-manager-calls.js';
import { SECRETS_SOURCE } from './secrets-manager-errors.js';

const valueSchema = z.object({ hmacKey: z.string() });

export interface SecretsManagerEabKeySourceOptions {
  client: SecretsManagerClient;
  /** The issuer the key belongs to, for messages. */
  issuer: string;
  secretArn: string;
}

export class SecretsManagerEabKeySource implements EabKeySource {
  readonly location: string;
  readonly #client: SecretsManagerClient;
  readonly #issuer: string;

  constructor(options: SecretsManagerEabKeySourceOptions) {
    this.#client = options.client;
    this.#issuer = options.issuer;
    this.location = options.secretArn;
  }

  async readHmacKey(): Promise<HmacKey> {
    let text: string | undefined;
    try {
      text = await readSecretStage(
        this.#client,
        this.location,
        CURRENT_STAGE,
        `read the EAB HMAC key of issuer "${this.#issuer}"`,
      );
    } catch (error) {
      const reason =
        error instanceof CertloopError && error.kind === 'not-found'
          ? 'does not exist'
          : `cannot be read: ${error instanceof Error ? error.message : String(error)}`;
      throw this.#error(reason, error);
    }
    if (text === undefined) throw this.#error('has no current value (AWSCURRENT)');
    const json = parseJson(text);
    if (json === undefined)
      throw this.#error('does not hold JSON; expected {"hmacKey":"<base64url>"}');
    const parsed = valueSchema.safeParse(json);
    if (!parsed.success)
      throw this.#error('holds JSON of the wrong shape; expected {"hmacKey":"<base64url>"}');
    const key = parsed.data.hmacKey.trim();
    if (!isUsableHmacKey(key)) {
      throw this.#error(
        `holds an hmacKey that is not base64url of at least ${MIN_HMAC_KEY_BYTES} bytes`,
      );
    }
    return new HmacKey(key);
  }

  #error(reason: string, cause?: unknown): CertloopError {
    return new CertloopError(
      'infrastructure',
      `issuer "${this.#issuer}": the External Account Binding HMAC key secret ${this.location} ${reason}`,
      { source: SECRETS_SOURCE, accountSetup: true, ...(cause === undefined ? {} : { cause }) },
    );
  }
}
