/**
 * SecretsManagerSecretStore: the AWS SecretStore. The user creates and tags the secret
 * (`certloop:domains`); certloop only adds versions to it. The client finds its endpoint,
 * region and credentials the standard way (AWS_ENDPOINT_URL[_SECRETS_MANAGER], ...).
 *
 * Certificates: one secret version per issuance, holding the JSON
 *   { certificate, chain, fullchain, privateKey, domains, serial, notBefore, notAfter,
 *     issuer, keyType }
 * (DESIGN.md field names; ECS can inject single keys with `valueFrom: <arn>:fullchain::`).
 * The version is put with VersionStages [AWSCURRENT], so Secrets Manager moves the old
 * AWSCURRENT to AWSPREVIOUS in the same call: a consumer never sees a certificate without
 * its key, and the previous pair stays readable as AWSPREVIOUS.
 *
 * Idempotency: the version id (ClientRequestToken) is a UUID-shaped SHA-256 of the
 * idempotency token (`certificateVersionId`), so every retry of one write names the same
 * version. `writeCertificate` first reads the secret's VersionIdsToStages:
 * - the version already exists (current, previous or older): `{ created: false }` and
 *   nothing changes; a late retry never rolls AWSCURRENT back;
 * - otherwise PutSecretValue; Secrets Manager ignores a repeated token with the same
 *   value, so a retry whose first attempt landed (e.g. after a timeout) adds no second
 *   version. When the put answers ResourceExistsException (the version exists with other
 *   content: the first bundle stored under a token wins) or answers a version without
 *   AWSCURRENT (the service ignored it because the version existed, deprecated), the
 *   answer is `{ created: false }` as well. Otherwise `{ created: true }`.
 * A secret that does not exist is `not-found`: certloop never creates certificate secrets.
 *
 * Reading: GetSecretValue by AWSCURRENT / AWSPREVIOUS. A stage that does not exist, or a
 * value that is not a certloop certificate (a placeholder such as `{}` in a fresh secret),
 * reads as `undefined`. A secret that does not exist is `not-found` (told apart from a
 * missing stage with DescribeSecret, since both answer ResourceNotFoundException).
 *
 * Pending keys: one version per attempt, value `{ "certloopPending": { attemptId,
 * privateKey } }`, under its own staging label `CERTLOOP_PENDING_<sha256(attemptId), 24
 * hex>` (not AWSPENDING, which rotation functions own). A label per attempt is what lets
 * two attempts keep their own keys; the attempt id in the value is compared on read. Only
 * AWSCURRENT moves on a certificate write, so pending labels stay where they are. A
 * secret that has no version yet would make any first version AWSCURRENT (Secrets
 * Manager attaches AWSCURRENT to the first version whatever the request says), so staging
 * a key in an empty secret first puts a placeholder `{}` as its first version: a staged
 * key is never AWSCURRENT. At most MAX_PENDING_LABELS attempts keep their key per secret
 * (staging labels are a per-secret quota); staging more drops the oldest ones.
 * Discarding removes the label (the version becomes deprecated and Secrets Manager
 * deletes it in time); a label or secret that is not there is not an error.
 *
 * Account keys: one secret per ACME directory URL, named `<prefix><first 32 hex of
 * sha256(directoryUrl)>`, value `{ directoryUrl, privateKey }`, tagged
 * `certloop:role=acme-account-key`, created with CreateSecret (value and tag in one call)
 * and a version id derived from the directory URL. Losing a creation race
 * (ResourceExistsException) reads and returns the winner's key; callers in this process
 * share one lookup.
 *
 * Registration discovery (beyond the port): `readRegistrationTags` (DescribeSecret) and
 * `listRegisteredSecrets` (ListSecrets filtered by tag key `certloop:domains`, paginated).
 *
 * Key material never reaches a message: errors name operations, secret ids and labels;
 * values that do not parse are reported by shape, never quoted (JSON.parse errors quote
 * their input, so they are never passed on).
 */
import { createHash, createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  type Tag,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import {
  ACCOUNT_KEY_TAG,
  DEFAULT_ACCOUNT_KEY_PREFIX,
  REGISTRATION_TAG_KEY,
} from '../../config/shared-names.js';
import '../../config/zod-messages.js';
import { CertloopError } from '../../core/errors.js';
import { KeyMaterial } from '../../core/key-material.js';
import { KEY_TYPES } from '../../core/key-type.js';
import {
  type CertificateBundle,
  MAX_PENDING_KEYS,
  type SecretStage,
  type SecretStore,
} from '../../ports/secret-store.js';
import {
  isSecretsManagerError,
  SECRETS_SOURCE,
  translateSecretsManagerError,
} from './secrets-manager-errors.js';
import { putCurrentVersion, uuidFromHash } from './secrets-manager-versions.js';

export interface SecretsManagerSecretStoreOptions {
  client: SecretsManagerClient;
  /** Name prefix of the ACME account key secrets. Default `certloop/acme-account/`. */
  accountKeyPrefix?: string;
  /** Page size of ListSecrets in `listRegisteredSecrets` (1-100). Default 100. */
  listPageSize?: number;
}

/** A secret registered for a certificate, as found by `listRegisteredSecrets`. */
export interface RegisteredSecret {
  arn: string;
  name: string;
  /** Every tag of the secret, `certloop:domains` among them. */
  tags: Record<string, string>;
}

/** Prefix of the per-attempt staging labels of pending keys. */
export const PENDING_LABEL_PREFIX = 'CERTLOOP_PENDING';
/** Pending keys kept per secret at most (AWSCURRENT and AWSPREVIOUS need labels too). */
export const MAX_PENDING_LABELS = MAX_PENDING_KEYS;

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
/** Held only for a moment by the placeholder first version of an empty secret. */
const PLACEHOLDER_LABEL = 'CERTLOOP_PLACEHOLDER';
const PLACEHOLDER_VALUE = '{}';
/** Reads of a just-created account key secret that may not be visible yet. */
const ACCOUNT_READ_ATTEMPTS = 5;
const ACCOUNT_READ_DELAY_MS = 200;

const certificateValueSchema = z.object({
  certificate: z.string().check(z.minLength(1)),
  chain: z.string(),
  fullchain: z.string().check(z.minLength(1)),
  privateKey: z.string().check(z.minLength(1)),
  domains: z.array(z.string()),
  serial: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  issuer: z.string(),
  keyType: z.enum(KEY_TYPES),
});

const pendingValueSchema = z.object({
  certloopPending: z.object({
    attemptId: z.string(),
    privateKey: z.string().check(z.minLength(1)),
  }),
});

const accountValueSchema = z.object({
  directoryUrl: z.string(),
  privateKey: z.string().check(z.minLength(1)),
});

/** The secret version id (ClientRequestToken) of a certificate write: a UUID-shaped hash. */
export function certificateVersionId(idempotencyToken: string): string {
  return uuidFromHash(`certloop:certificate:${idempotencyToken}`);
}

/** The staging label that holds the pending key of one attempt. */
export function pendingLabel(attemptId: string): string {
  return `${PENDING_LABEL_PREFIX}_${sha256Hex(`certloop:attempt:${attemptId}`).slice(0, 24)}`;
}

/** The name of the secret that holds the ACME account key of a directory URL. */
export function accountKeySecretName(
  directoryUrl: string,
  prefix = DEFAULT_ACCOUNT_KEY_PREFIX,
): string {
  return `${prefix}${sha256Hex(directoryUrl).slice(0, 32)}`;
}

export class SecretsManagerSecretStore implements SecretStore {
  readonly #client: SecretsManagerClient;
  readonly #accountKeyPrefix: string;
  readonly #listPageSize: number;
  readonly #accountLookups = new Map<string, Promise<KeyMaterial>>();

  constructor(options: SecretsManagerSecretStoreOptions) {
    this.#client = options.client;
    this.#accountKeyPrefix = options.accountKeyPrefix ?? DEFAULT_ACCOUNT_KEY_PREFIX;
    this.#listPageSize = options.listPageSize ?? 100;
  }

  async writeCertificate(
    secretId: string,
    bundle: CertificateBundle,
    idempotencyToken: string,
  ): Promise<{ created: boolean }> {
    const purpose = 'write certificate';
    requireNonEmpty(idempotencyToken, 'idempotency token', secretId);
    const versionId = certificateVersionId(idempotencyToken);
    const described = await this.#describe(secretId, purpose);
    // Published before (now current, previous or older): never a second version, never
    // a rollback.
    if (described.VersionIdsToStages?.[versionId] !== undefined) return { created: false };

    return putCurrentVersion(this.#client, {
      secretId,
      value: certificateValue(bundle),
      versionId,
      purpose,
    });
  }

  async readCertificate(
    secretId: string,
    stage: SecretStage = 'current',
  ): Promise<CertificateBundle | undefined> {
    if (stage !== 'current' && stage !== 'previous') {
      throw new CertloopError('permanent', 'The stage must be current or previous', {
        source: SECRETS_SOURCE,
      });
    }
    const text = await this.#readStage(
      secretId,
      stage === 'current' ? CURRENT : PREVIOUS,
      'read certificate',
    );
    return text === undefined ? undefined : parseCertificate(secretId, stage, text);
  }

  async stagePendingKey(secretId: string, attemptId: string, key: KeyMaterial): Promise<void> {
    const purpose = 'stage pending key';
    requireNonEmpty(attemptId, 'attempt id', secretId);
    const label = pendingLabel(attemptId);
    const described = await this.#describe(secretId, purpose);
    const stagesById = described.VersionIdsToStages ?? {};
    if (!Object.values(stagesById).some((stages) => stages.includes(CURRENT))) {
      await this.#putPlaceholder(secretId);
    }
    await this.#prunePendingLabels(secretId, stagesById, label);
    await this.#send('PutSecretValue', secretId, purpose, () =>
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
    const text = await this.#readStage(secretId, pendingLabel(attemptId), 'read pending key');
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
        described = await this.#describe(secretId, purpose);
      } catch (error) {
        // No secret, no key: what discarding wants.
        if (error instanceof CertloopError && error.kind === 'not-found') return;
        throw error;
      }
      const versionId = versionWithLabel(described.VersionIdsToStages, label);
      if (versionId === undefined) return;
      try {
        await this.#client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretId,
            VersionStage: label,
            RemoveFromVersionId: versionId,
          }),
        );
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

  getOrCreateAccountKey(
    directoryUrl: string,
    generate: () => Promise<KeyMaterial>,
  ): Promise<KeyMaterial> {
    const name = accountKeySecretName(directoryUrl, this.#accountKeyPrefix);
    let lookup = this.#accountLookups.get(name);
    if (!lookup) {
      lookup = this.#loadOrCreateAccountKey(name, directoryUrl, generate).finally(() => {
        this.#accountLookups.delete(name);
      });
      this.#accountLookups.set(name, lookup);
    }
    return lookup;
  }

  /** The tags of a secret (DescribeSecret), as a plain record. */
  async readRegistrationTags(secretId: string): Promise<Record<string, string>> {
    const described = await this.#describe(secretId, 'read registration tags');
    return tagRecord(described.Tags);
  }

  /**
   * Every secret that carries the `certloop:domains` tag (ListSecrets filtered by tag
   * key, all pages; secrets scheduled for deletion are left out by the service).
   */
  async *listRegisteredSecrets(): AsyncIterable<RegisteredSecret> {
    let nextToken: string | undefined;
    do {
      const page = await this.#send(
        'ListSecrets',
        undefined,
        `list secrets tagged ${REGISTRATION_TAG_KEY}`,
        () =>
          this.#client.send(
            new ListSecretsCommand({
              Filters: [{ Key: 'tag-key', Values: [REGISTRATION_TAG_KEY] }],
              MaxResults: this.#listPageSize,
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
          ),
      );
      for (const entry of page.SecretList ?? []) {
        const tags = tagRecord(entry.Tags);
        // The service matches tag keys by prefix: keep only the exact key.
        if (entry.ARN === undefined || entry.Name === undefined) continue;
        if (!Object.hasOwn(tags, REGISTRATION_TAG_KEY)) continue;
        yield { arn: entry.ARN, name: entry.Name, tags };
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken);
  }

  /** DescribeSecret; `not-found` when the secret does not exist. */
  #describe(secretId: string, purpose: string): Promise<DescribeSecretCommandOutput> {
    return this.#send('DescribeSecret', secretId, purpose, () =>
      this.#client.send(new DescribeSecretCommand({ SecretId: secretId })),
    );
  }

  /**
   * The SecretString of the version under `label`, or `undefined` when no version has
   * that label (or it holds binary). `not-found` when the secret itself does not exist.
   */
  async #readStage(secretId: string, label: string, purpose: string): Promise<string | undefined> {
    try {
      const answer = await this.#client.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionStage: label }),
      );
      return answer.SecretString;
    } catch (error) {
      if (!isSecretsManagerError(error, 'ResourceNotFoundException')) {
        throw translateSecretsManagerError(error, {
          operation: 'GetSecretValue',
          secretId,
          purpose,
        });
      }
    }
    // The same error means "no such secret" and "no such label": ask which.
    await this.#describe(secretId, purpose);
    return undefined;
  }

  /**
   * Gives an empty secret a placeholder first version, so that the next version put with
   * a custom label does not become AWSCURRENT. The placeholder's own label is removed
   * again; if another writer got there first, the placeholder is just a deprecated version.
   */
  async #putPlaceholder(secretId: string): Promise<void> {
    const purpose = 'prepare empty secret';
    const answer = await this.#send('PutSecretValue', secretId, purpose, () =>
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
    await this.#send('UpdateSecretVersionStage', secretId, purpose, () =>
      this.#client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: PLACEHOLDER_LABEL,
          RemoveFromVersionId: versionId,
        }),
      ),
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
    const created = new Map<string, number>();
    let nextToken: string | undefined;
    do {
      const page = await this.#send('ListSecretVersionIds', secretId, purpose, () =>
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
    pending.sort((a, b) => (created.get(a.versionId) ?? 0) - (created.get(b.versionId) ?? 0));
    for (const { label, versionId } of pending.slice(0, excess)) {
      try {
        await this.#client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretId,
            VersionStage: label,
            RemoveFromVersionId: versionId,
          }),
        );
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

  async #loadOrCreateAccountKey(
    name: string,
    directoryUrl: string,
    generate: () => Promise<KeyMaterial>,
  ): Promise<KeyMaterial> {
    const found = await this.#readAccountKey(name, directoryUrl);
    if (found instanceof KeyMaterial) return found;

    const key = await generate();
    const value = JSON.stringify({ directoryUrl, privateKey: key.reveal() });
    // The same version id for every creator: of two racing writers exactly one succeeds.
    const versionId = uuidFromHash(`certloop:account-key:${directoryUrl}`);
    try {
      if (found === 'missing') {
        await this.#client.send(
          new CreateSecretCommand({
            Name: name,
            Description: `ACME account key of ${directoryUrl}, managed by certloop`,
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
            VersionStages: [CURRENT],
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
      const winner = await this.#readAccountKey(name, directoryUrl);
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
  async #readAccountKey(
    name: string,
    directoryUrl: string,
  ): Promise<KeyMaterial | 'missing' | 'empty'> {
    const purpose = 'read ACME account key';
    let text: string | undefined;
    try {
      text = await this.#readStage(name, CURRENT, purpose);
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
    if (parsed.data.directoryUrl !== directoryUrl) {
      throw new CertloopError(
        'infrastructure',
        `Secret ${name} holds the ACME account key of ${parsed.data.directoryUrl}, not of ${directoryUrl}`,
        { source: SECRETS_SOURCE },
      );
    }
    return key;
  }

  /** Runs one SDK call, translating whatever it throws. */
  async #send<T>(
    operation: string,
    secretId: string | undefined,
    purpose: string,
    call: () => Promise<T>,
  ): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw translateSecretsManagerError(error, {
        operation,
        purpose,
        ...(secretId === undefined ? {} : { secretId }),
      });
    }
  }
}

function certificateValue(bundle: CertificateBundle): string {
  return JSON.stringify({
    certificate: bundle.certificate,
    chain: bundle.chain,
    fullchain: bundle.fullchain,
    privateKey: bundle.privateKey.reveal(),
    domains: [...bundle.domains],
    serial: bundle.serial,
    notBefore: bundle.notBefore,
    notAfter: bundle.notAfter,
    issuer: bundle.issuer,
    keyType: bundle.keyType,
  });
}

/**
 * A certloop certificate; `undefined` for a placeholder (what a secret may hold before
 * its first issuance: an empty string, or a JSON object with none of the certificate
 * fields, such as `{}` or `{"note":"managed by certloop"}`). Anything else that is not
 * a complete, matching pair is refused with the field at fault, never passed on: a
 * consumer must not get a certificate without its key, and a hand-edited value must not
 * pass for "no certificate".
 */
/** Fields whose presence makes a value a (possibly broken) certloop certificate. */
const CERTIFICATE_FIELDS = ['certificate', 'privateKey', 'fullchain', 'chain'] as const;

function parseCertificate(
  secretId: string,
  stage: string,
  text: string,
): CertificateBundle | undefined {
  const refuse = (problem: string): CertloopError =>
    new CertloopError(
      'permanent',
      `Secret ${secretId} (${stage}) does not hold a certloop certificate: ${problem}`,
      { source: SECRETS_SOURCE },
    );
  if (text.trim() === '') return undefined;
  const json = parseJson(text);
  if (json === undefined) throw refuse('the value is not JSON');
  if (
    typeof json === 'object' &&
    json !== null &&
    !Array.isArray(json) &&
    !CERTIFICATE_FIELDS.some((field) => field in json)
  ) {
    return undefined;
  }
  const parsed = certificateValueSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw refuse(`${issue?.path.join('.') || 'the value'}: ${issue?.message ?? 'invalid'}`);
  }
  const privateKey = toKeyMaterial(parsed.data.privateKey);
  if (privateKey === undefined) throw refuse('privateKey is not a PEM private key');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(parsed.data.certificate);
  } catch {
    throw refuse('certificate is not a PEM certificate');
  }
  let matches = false;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(parsed.data.privateKey));
  } catch {
    throw refuse('privateKey is not a PEM private key');
  }
  if (!matches) throw refuse('the privateKey does not match the certificate');
  const { privateKey: _pem, ...rest } = parsed.data;
  return { ...rest, privateKey };
}

/** JSON.parse without its error: the message of a SyntaxError quotes the input. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toKeyMaterial(pem: string): KeyMaterial | undefined {
  try {
    return new KeyMaterial(pem);
  } catch {
    return undefined;
  }
}

function versionWithLabel(
  stagesById: Record<string, string[]> | undefined,
  label: string,
): string | undefined {
  for (const [versionId, stages] of Object.entries(stagesById ?? {})) {
    if (stages.includes(label)) return versionId;
  }
  return undefined;
}

function tagRecord(tags: Tag[] | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  for (const tag of tags ?? []) {
    if (tag.Key !== undefined) record[tag.Key] = tag.Value ?? '';
  }
  return record;
}

function requireNonEmpty(value: string, what: string, secretId: string): void {
  if (value === '') {
    throw new CertloopError('permanent', `An empty ${what} was given for secret ${secretId}`, {
      source: SECRETS_SOURCE,
    });
  }
}

function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
