/**
 * SecretsManagerStekStore: STEK rings in Secrets Manager, one secret per set (the set id
 * is the secret's name or ARN). The value is the ring document (`encodeRing`: base64
 * key fields and instants), put as a new version with VersionStages [AWSCURRENT], so the
 * switch is atomic and the previous ring stays readable as AWSPREVIOUS.
 *
 * Tag: every STEK secret carries the tag `certloop:stek` (value: the set id). A set whose
 * secret does not exist is created on its first write, with the ring as its first value
 * and the tag, in one CreateSecret call, when the set id is a name; an ARN must name an
 * existing secret (`not-found` otherwise). An existing secret without the tag is
 * refused (`permanent`): certloop never overwrites a secret that is not a STEK set, such
 * as a certificate someone pointed it at by mistake.
 *
 * Idempotency: the version id (ClientRequestToken) is a UUID-shaped SHA-256 of
 * (set id, idempotency token); the rotation service derives the token from the ring's
 * generation, so every retry of one rotation names the same version. `write`:
 * - the version already exists (current, previous or older): `{ created: false }`;
 * - the current ring's generation is >= the new one: `{ created: false }` (never roll
 *   back, whatever the token);
 * - otherwise PutSecretValue; ResourceExistsException (that version exists with other
 *   content: the first ring stored under a token wins) is `{ created: false }`.
 *
 * Key material never reaches a message: errors name operations and secret ids only;
 * values that do not parse are reported by shape.
 */
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { STEK_TAG_KEY } from '../../config/shared-names.js';
import { CertloopError } from '../../core/errors.js';
import { decodeRing, encodeRing, type StekRing } from '../../core/stek-ring.js';
import type { StekSetStore } from '../../ports/stek-store.js';
import { putCurrentVersion, uuidFromHash } from './secrets-manager-calls.js';
import {
  isSecretsManagerError,
  SECRETS_SOURCE,
  translateSecretsManagerError,
} from './secrets-manager-errors.js';

const CURRENT = 'AWSCURRENT';
const PLACEHOLDER = '{}';

/** The secret version id (ClientRequestToken) of one ring write: a UUID-shaped hash. */
export function stekVersionId(setId: string, idempotencyToken: string): string {
  return uuidFromHash(`certloop:stek:${setId}\u0000${idempotencyToken}`);
}

export interface SecretsManagerStekStoreOptions {
  client: SecretsManagerClient;
}

export class SecretsManagerStekStore implements StekSetStore {
  readonly #client: SecretsManagerClient;

  constructor(options: SecretsManagerStekStoreOptions) {
    this.#client = options.client;
  }

  async read(setId: string): Promise<StekRing | undefined> {
    let text: string | undefined;
    try {
      const answer = await this.#client.send(
        new GetSecretValueCommand({ SecretId: setId, VersionStage: CURRENT }),
      );
      text = answer.SecretString;
    } catch (error) {
      // No secret yet, or no version: a set that has never been written.
      if (isSecretsManagerError(error, 'ResourceNotFoundException')) return undefined;
      throw translateSecretsManagerError(error, {
        operation: 'GetSecretValue',
        secretId: setId,
        purpose: 'read STEK ring',
      });
    }
    return parse(setId, text);
  }

  async write(
    setId: string,
    ring: StekRing,
    idempotencyToken: string,
  ): Promise<{ created: boolean }> {
    if (idempotencyToken === '') {
      throw new CertloopError('permanent', `An empty idempotency token was given for ${setId}`, {
        source: SECRETS_SOURCE,
      });
    }
    const versionId = stekVersionId(setId, idempotencyToken);
    const described = await this.#describe(setId);
    if (described === undefined) return this.#create(setId, ring, versionId);
    if (!(described.Tags ?? []).some((tag) => tag.Key === STEK_TAG_KEY)) {
      throw new CertloopError(
        'permanent',
        `Secret ${setId} is not tagged ${STEK_TAG_KEY}; refusing to store a STEK ring in it`,
        { source: SECRETS_SOURCE },
      );
    }
    if (described.VersionIdsToStages?.[versionId] !== undefined) return { created: false };
    const current = await this.read(setId);
    if (current && current.generation >= ring.generation) return { created: false };
    return putCurrentVersion(this.#client, {
      secretId: setId,
      value: encodeRing(ring),
      versionId,
      purpose: 'write STEK ring',
    });
  }

  async #describe(setId: string): Promise<DescribeSecretCommandOutput | undefined> {
    try {
      return await this.#client.send(new DescribeSecretCommand({ SecretId: setId }));
    } catch (error) {
      if (isSecretsManagerError(error, 'ResourceNotFoundException') && !setId.startsWith('arn:')) {
        return undefined;
      }
      throw translateSecretsManagerError(error, {
        operation: 'DescribeSecret',
        secretId: setId,
        purpose: 'write STEK ring',
      });
    }
  }

  async #create(setId: string, ring: StekRing, versionId: string): Promise<{ created: boolean }> {
    try {
      await this.#client.send(
        new CreateSecretCommand({
          Name: setId,
          Description: 'certloop session-ticket key ring (STEK set)',
          SecretString: encodeRing(ring),
          ClientRequestToken: versionId,
          Tags: [{ Key: STEK_TAG_KEY, Value: setId }],
        }),
      );
      return { created: true };
    } catch (error) {
      // Another writer created it first: theirs stands (the lease makes this rare).
      if (isSecretsManagerError(error, 'ResourceExistsException')) return { created: false };
      throw translateSecretsManagerError(error, {
        operation: 'CreateSecret',
        secretId: setId,
        purpose: 'create STEK set',
      });
    }
  }
}

function parse(setId: string, text: string | undefined): StekRing | undefined {
  if (text === undefined || text.trim() === '' || text.trim() === PLACEHOLDER) return undefined;
  try {
    return decodeRing(text);
  } catch (error) {
    throw new CertloopError(
      'permanent',
      `Secret ${setId} does not hold a certloop STEK ring (${error instanceof Error ? error.message : 'unreadable'})`,
      { source: SECRETS_SOURCE },
    );
  }
}
