/**
 * Certificates in Secrets Manager: one secret version per issuance, holding the JSON
 *   { certificate, chain, fullchain, privateKey, domains, serial, notBefore, notAfter,
 *     issuer, keyType }
 * put with VersionStages [AWSCURRENT], so the old pair moves to AWSPREVIOUS in the same
 * call. The version id is derived from the idempotency token: a write whose version
 * exists already (at any stage) changes nothing and answers `{ created: false }`. A
 * missing stage, or a placeholder value, reads as `undefined`; a secret that does not
 * exist is `not-found` (certloop never creates certificate secrets).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import '../../config/zod-messages.js';
import { CertloopError } from '../../core/errors.js';
import { KEY_TYPES } from '../../core/key-type.js';
import {
  bundleDetails,
  type CertificateBundle,
  type CertificateSecrets,
  type CertificateWrite,
  type SecretStage,
} from '../../ports/secret-store.js';
import {
  CURRENT_STAGE,
  describeSecret,
  PREVIOUS_STAGE,
  parseJson,
  putCurrentVersion,
  readSecretStage,
  requireNonEmpty,
  toKeyMaterial,
  uuidFromHash,
} from './secrets-manager-calls.js';
import { SECRETS_SOURCE } from './secrets-manager-errors.js';

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

/** Fields whose presence makes a value a (possibly broken) certloop certificate. */
const CERTIFICATE_FIELDS = ['certificate', 'privateKey', 'fullchain', 'chain'] as const;

/** The secret version id (ClientRequestToken) of a certificate write: a UUID-shaped hash. */
export function certificateVersionId(idempotencyToken: string): string {
  return uuidFromHash(`certloop:certificate:${idempotencyToken}`);
}

export class SecretsManagerCertificates implements CertificateSecrets {
  readonly #client: SecretsManagerClient;

  constructor(client: SecretsManagerClient) {
    this.#client = client;
  }

  async writeCertificate(
    secretId: string,
    bundle: CertificateBundle,
    idempotencyToken: string,
  ): Promise<CertificateWrite> {
    const purpose = 'write certificate';
    requireNonEmpty(idempotencyToken, 'idempotency token', secretId);
    const versionId = certificateVersionId(idempotencyToken);
    const described = await describeSecret(this.#client, secretId, purpose);
    // Published before (now current, previous or older): never a second version, never
    // a rollback.
    if (described.VersionIdsToStages?.[versionId] !== undefined) {
      return { created: false, versionId };
    }
    const { created } = await putCurrentVersion(this.#client, {
      secretId,
      value: certificateValue(bundle),
      versionId,
      purpose,
    });
    return { created, versionId };
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
    const text = await readSecretStage(
      this.#client,
      secretId,
      stage === 'current' ? CURRENT_STAGE : PREVIOUS_STAGE,
      'read certificate',
    );
    return text === undefined ? undefined : parseCertificate(secretId, stage, text);
  }
}

function certificateValue(bundle: CertificateBundle): string {
  return JSON.stringify({
    certificate: bundle.certificate,
    chain: bundle.chain,
    fullchain: bundle.fullchain,
    privateKey: bundle.privateKey.reveal(),
    ...bundleDetails(bundle),
  });
}

/**
 * A certloop certificate; `undefined` for a placeholder (what a secret may hold before
 * its first issuance: an empty string, or a JSON object with none of the certificate
 * fields, such as `{}` or `{"note":"managed by certloop"}`). Anything else that is not
 * a complete, matching pair is refused with the field at fault, never passed on: a
 * consumer must not get a certificate without its key, and a hand-edited value must not
 * pass for "no certificate". The value is never quoted in the message.
 */
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
