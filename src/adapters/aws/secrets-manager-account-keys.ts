/**
 * ACME account keys in Secrets Manager: one secret per ACME account, named
 * `<prefix><first 32 hex of sha256(identity)>` where the identity is `issuerIdentity()`:
 * the directory URL, followed by ` kid=<EAB key id>` with External Account Binding (so a
 * secret without EAB keeps the name it always had). Value
 * `{ directoryUrl, eabKeyId?, privateKey }`, tagged ACCOUNT_KEY_TAG, created with one
 * CreateSecret (value and tag together) and a version id derived from the identity, so
 * that of two racing creators exactly one succeeds and the other reads and returns the
 * winner's key. Callers in one process share one lookup.
 */
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { ACCOUNT_KEY_TAG, DEFAULT_ACCOUNT_KEY_PREFIX } from '../../config/shared-names.js';
import '../../config/zod-messages.js';
import { CertloopError } from '../../core/errors.js';
import { issuerIdentity } from '../../core/issuer-identity.js';
import { KeyMaterial } from '../../core/key-material.js';
import type { AccountKeys, AcmeAccountId } from '../../ports/secret-store.js';
import {
  CURRENT_STAGE,
  parseJson,
  readSecretStage,
  sha256Hex,
  toKeyMaterial,
  uuidFromHash,
} from './secrets-manager-calls.js';
import {
  isSecretsManagerError,
  SECRETS_SOURCE,
  translateSecretsManagerError,
} from './secrets-manager-errors.js';

/** Reads of a just-created account key secret that may not be visible yet. */
const ACCOUNT_READ_ATTEMPTS = 5;
const ACCOUNT_READ_DELAY_MS = 200;

const accountValueSchema = z.object({
  directoryUrl: z.string(),
  eabKeyId: z.optional(z.string()),
  privateKey: z.string().check(z.minLength(1)),
});

/**
 * The name of the secret that holds the key of an ACME account (a directory URL, or a
 * directory URL and an EAB key id).
 */
export function accountKeySecretName(
  account: string | AcmeAccountId,
  prefix = DEFAULT_ACCOUNT_KEY_PREFIX,
): string {
  const identity = typeof account === 'string' ? account : issuerIdentity(account);
  return `${prefix}${sha256Hex(identity).slice(0, 32)}`;
}

export class SecretsManagerAccountKeys implements AccountKeys {
  readonly #client: SecretsManagerClient;
  readonly #prefix: string;
  readonly #lookups = new Map<string, Promise<KeyMaterial>>();

  constructor(client: SecretsManagerClient, prefix = DEFAULT_ACCOUNT_KEY_PREFIX) {
    this.#client = client;
    this.#prefix = prefix;
  }

  getOrCreateAccountKey(
    account: AcmeAccountId,
    generate: () => Promise<KeyMaterial>,
  ): Promise<KeyMaterial> {
    const name = accountKeySecretName(account, this.#prefix);
    let lookup = this.#lookups.get(name);
    if (!lookup) {
      lookup = this.#loadOrCreate(name, account, generate).finally(() => {
        this.#lookups.delete(name);
      });
      this.#lookups.set(name, lookup);
    }
    return lookup;
  }

  async #loadOrCreate(
    name: string,
    account: AcmeAccountId,
    generate: () => Promise<KeyMaterial>,
  ): Promise<KeyMaterial> {
    const found = await this.#read(name, account);
    if (found instanceof KeyMaterial) return found;

    // Nothing is written until generate has succeeded.
    const key = await generate();
    const { directoryUrl } = account;
    const eabKeyId = account.eab?.keyId;
    const value = JSON.stringify({
      directoryUrl,
      ...(eabKeyId === undefined ? {} : { eabKeyId }),
      privateKey: key.reveal(),
    });
    const identity = issuerIdentity(account);
    // The same version id for every creator: of two racing writers exactly one succeeds.
    const versionId = uuidFromHash(`certloop:account-key:${identity}`);
    try {
      if (found === 'missing') {
        await this.#client.send(
          new CreateSecretCommand({
            Name: name,
            Description: `ACME account key of ${identity}, managed by certloop`,
            SecretString: value,
            ClientRequestToken: versionId,
            Tags: [{ ...ACCOUNT_KEY_TAG }],
          }),
        );
      } else {
        // The secret exists without a value (created by hand or by infrastructure code).
        await this.#client.send(
          new PutSecretValueCommand({
            SecretId: name,
            SecretString: value,
            ClientRequestToken: versionId,
            VersionStages: [CURRENT_STAGE],
          }),
        );
      }
      return key;
    } catch (error) {
      if (!isSecretsManagerError(error, 'ResourceExistsException')) {
        throw translateSecretsManagerError(error, {
          operation: found === 'missing' ? 'CreateSecret' : 'PutSecretValue',
          secretId: name,
          purpose: 'create ACME account key',
        });
      }
    }
    // Lost the race: the winner's key is the account key. It may take a moment to show.
    for (let attempt = 1; ; attempt += 1) {
      const winner = await this.#read(name, account);
      if (winner instanceof KeyMaterial) return winner;
      if (attempt >= ACCOUNT_READ_ATTEMPTS) {
        throw new CertloopError(
          'infrastructure',
          `ACME account key secret ${name} was created by another caller but holds no key yet`,
          { source: SECRETS_SOURCE },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, ACCOUNT_READ_DELAY_MS * attempt));
    }
  }

  /** The account key, or whether its secret is `missing` or `empty` (exists, no value). */
  async #read(name: string, account: AcmeAccountId): Promise<KeyMaterial | 'missing' | 'empty'> {
    const purpose = 'read ACME account key';
    let text: string | undefined;
    try {
      text = await readSecretStage(this.#client, name, CURRENT_STAGE, purpose);
    } catch (error) {
      if (error instanceof CertloopError && error.kind === 'not-found') {
        if (isSecretsManagerError(error.cause, 'ResourceNotFoundException')) return 'missing';
      }
      throw error;
    }
    if (text === undefined) return 'empty';
    const parsed = accountValueSchema.safeParse(parseJson(text));
    const key = parsed.success ? toKeyMaterial(parsed.data.privateKey) : undefined;
    if (!parsed.success || key === undefined) {
      throw new CertloopError(
        'infrastructure',
        `Secret ${name} does not hold a certloop ACME account key ({ directoryUrl, privateKey }); ` +
          'move it away or fix its value',
        { source: SECRETS_SOURCE },
      );
    }
    const stored = issuerIdentity({
      directoryUrl: parsed.data.directoryUrl,
      ...(parsed.data.eabKeyId === undefined ? {} : { eab: { keyId: parsed.data.eabKeyId } }),
    });
    if (stored !== issuerIdentity(account)) {
      throw new CertloopError(
        'infrastructure',
        `Secret ${name} holds the ACME account key of ${stored}, not of ${issuerIdentity(account)}`,
        { source: SECRETS_SOURCE },
      );
    }
    return key;
  }
}
