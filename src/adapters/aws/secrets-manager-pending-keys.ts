/**
 * Pending keys in Secrets Manager: the private key of an order in flight, one version
 * per attempt, value `{ "certloopPending": { attemptId, privateKey } }`, under its own
 * staging label `CERTLOOP_PENDING_<sha256(attemptId), 24 hex>` (not AWSPENDING, which
 * rotation functions own). A staged key is never AWSCURRENT: an empty secret first gets
 * a placeholder `{}` version. At most MAX_PENDING_LABELS attempts keep their key per
 * secret; staging one more drops the oldest. Discarding a label or secret that is not
 * there is not an error.
 */
import { randomUUID } from 'node:crypto';
import {
  type DescribeSecretCommandOutput,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import '../../config/zod-messages.js';
import { CertloopError } from '../../core/errors.js';
import type { KeyMaterial } from '../../core/key-material.js';
import { MAX_PENDING_KEYS, type PendingKeys } from '../../ports/secret-store.js';
import {
  CURRENT_STAGE,
  describeSecret,
  parseJson,
  readSecretStage,
  removeStageLabel,
  requireNonEmpty,
  sendTranslated,
  sha256Hex,
  toKeyMaterial,
  versionWithLabel,
} from './secrets-manager-calls.js';
import { isSecretsManagerError, translateSecretsManagerError } from './secrets-manager-errors.js';

/** Prefix of the per-attempt staging labels of pending keys. */
export const PENDING_LABEL_PREFIX = 'CERTLOOP_PENDING';
/** Pending keys kept per secret at most (AWSCURRENT and AWSPREVIOUS need labels too). */
export const MAX_PENDING_LABELS = MAX_PENDING_KEYS;

/** Held only for a moment by the placeholder first version of an empty secret. */
const PLACEHOLDER_LABEL = 'CERTLOOP_PLACEHOLDER';
const PLACEHOLDER_VALUE = '{}';

const pendingValueSchema = z.object({
  certloopPending: z.object({
    attemptId: z.string(),
    privateKey: z.string().check(z.minLength(1)),
  }),
});

/** The staging label that holds the pending key of one attempt. */
export function pendingLabel(attemptId: string): string {
  return `${PENDING_LABEL_PREFIX}_${sha256Hex(`certloop:attempt:${attemptId}`).slice(0, 24)}`;
}

export class SecretsManagerPendingKeys implements PendingKeys {
  readonly #client: SecretsManagerClient;

  constructor(client: SecretsManagerClient) {
    this.#client = client;
  }

  async stagePendingKey(secretId: string, attemptId: string, key: KeyMaterial): Promise<void> {
    const purpose = 'stage pending key';
    requireNonEmpty(attemptId, 'attempt id', secretId);
    const label = pendingLabel(attemptId);
    const described = await describeSecret(this.#client, secretId, purpose);
    const stagesById = described.VersionIdsToStages ?? {};
    if (!Object.values(stagesById).some((stages) => stages.includes(CURRENT_STAGE))) {
      await this.#putPlaceholder(secretId);
    }
    await this.#prunePendingLabels(secretId, stagesById, label);
    await sendTranslated('PutSecretValue', secretId, purpose, () =>
      this.#client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          SecretString: JSON.stringify({
            certloopPending: { attemptId, privateKey: key.reveal() },
          }),
          ClientRequestToken: randomUUID(),
          VersionStages: [label],
        }),
      ),
    );
  }

  async readPendingKey(secretId: string, attemptId: string): Promise<KeyMaterial | undefined> {
    requireNonEmpty(attemptId, 'attempt id', secretId);
    const text = await readSecretStage(
      this.#client,
      secretId,
      pendingLabel(attemptId),
      'read pending key',
    );
    if (text === undefined) return undefined;
    const parsed = pendingValueSchema.safeParse(parseJson(text));
    if (!parsed.success || parsed.data.certloopPending.attemptId !== attemptId) return undefined;
    return toKeyMaterial(parsed.data.certloopPending.privateKey);
  }

  async discardPendingKey(secretId: string, attemptId: string): Promise<void> {
    const purpose = 'discard pending key';
    requireNonEmpty(attemptId, 'attempt id', secretId);
    const label = pendingLabel(attemptId);
    for (let attempt = 1; ; attempt += 1) {
      let described: DescribeSecretCommandOutput;
      try {
        described = await describeSecret(this.#client, secretId, purpose);
      } catch (error) {
        // No secret, no key: what discarding wants.
        if (error instanceof CertloopError && error.kind === 'not-found') return;
        throw error;
      }
      const versionId = versionWithLabel(described.VersionIdsToStages, label);
      if (versionId === undefined) return;
      try {
        await removeStageLabel(this.#client, secretId, label, versionId);
        return;
      } catch (error) {
        // The label moved between the two calls (a concurrent stage or discard): look again.
        if (isSecretsManagerError(error, 'InvalidParameterException') && attempt < 3) continue;
        throw translateSecretsManagerError(error, {
          operation: 'UpdateSecretVersionStage',
          secretId,
          purpose,
        });
      }
    }
  }

  /**
   * Gives an empty secret a placeholder first version, so that the next version put with
   * a custom label does not become AWSCURRENT (Secrets Manager attaches AWSCURRENT to a
   * secret's first version whatever the request says). The placeholder's own label is
   * removed again; if another writer got there first, the placeholder is just a
   * deprecated version.
   */
  async #putPlaceholder(secretId: string): Promise<void> {
    const purpose = 'prepare empty secret';
    const answer = await sendTranslated('PutSecretValue', secretId, purpose, () =>
      this.#client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          SecretString: PLACEHOLDER_VALUE,
          ClientRequestToken: randomUUID(),
          VersionStages: [PLACEHOLDER_LABEL],
        }),
      ),
    );
    if (answer.VersionId === undefined || !answer.VersionStages?.includes(PLACEHOLDER_LABEL))
      return;
    const versionId = answer.VersionId;
    await sendTranslated('UpdateSecretVersionStage', secretId, purpose, () =>
      removeStageLabel(this.#client, secretId, PLACEHOLDER_LABEL, versionId),
    );
  }

  /** Removes the oldest pending labels so that one more fits under MAX_PENDING_LABELS. */
  async #prunePendingLabels(
    secretId: string,
    stagesById: Record<string, string[]>,
    keep: string,
  ): Promise<void> {
    const pending: { label: string; versionId: string }[] = [];
    for (const [versionId, stages] of Object.entries(stagesById)) {
      for (const label of stages) {
        if (label.startsWith(`${PENDING_LABEL_PREFIX}_`) && label !== keep) {
          pending.push({ label, versionId });
        }
      }
    }
    const excess = pending.length - (MAX_PENDING_LABELS - 1);
    if (excess <= 0) return;
    const purpose = 'drop old pending keys';
    const created = await this.#versionCreationTimes(secretId, purpose);
    pending.sort((a, b) => (created.get(a.versionId) ?? 0) - (created.get(b.versionId) ?? 0));
    for (const { label, versionId } of pending.slice(0, excess)) {
      try {
        await removeStageLabel(this.#client, secretId, label, versionId);
      } catch (error) {
        // Already moved or removed by someone else: the goal is reached either way.
        if (!isSecretsManagerError(error, 'InvalidParameterException')) {
          throw translateSecretsManagerError(error, {
            operation: 'UpdateSecretVersionStage',
            secretId,
            purpose,
          });
        }
      }
    }
  }

  /** When each version of the secret was created (ListSecretVersionIds, all pages). */
  async #versionCreationTimes(secretId: string, purpose: string): Promise<Map<string, number>> {
    const created = new Map<string, number>();
    let nextToken: string | undefined;
    do {
      const page = await sendTranslated('ListSecretVersionIds', secretId, purpose, () =>
        this.#client.send(
          new ListSecretVersionIdsCommand({
            SecretId: secretId,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        ),
      );
      for (const version of page.Versions ?? []) {
        if (version.VersionId !== undefined) {
          created.set(version.VersionId, version.CreatedDate?.getTime() ?? 0);
        }
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return created;
  }
}
