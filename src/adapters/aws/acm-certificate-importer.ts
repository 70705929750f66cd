import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import { ACM_SECRET_TAG } from '../../config/shared-names.js';
import { CertloopError } from '../../core/errors.js';
import type { CertificateImport, CertificateImporter } from '../../ports/certificate-importer.js';
import { isNetworkError, sdkErrorClass, sdkErrorName, sdkHttpStatus } from '../sdk-errors.js';

/** The `source` of every error this adapter raises. */
export const ACM_SOURCE = 'acm';

export interface AcmCertificateImporterOptions {
  /**
   * The client for an ARN's region (ACM is regional: a certificate for CloudFront lives in
   * us-east-1). Default: one `new ACMClient({ region })` per region; new imports go to the
   * client of `defaultRegion`.
   */
  clientFor?: (region: string | undefined) => ACMClient;
}

/**
 * Imports issued pairs into AWS Certificate Manager with ImportCertificate. A re-import
 * names the certificate's ARN and keeps it, so listeners and distributions that use it
 * serve the renewed certificate without a change. A new import is tagged with the secret
 * it comes from (tags are allowed on a first import only).
 */
export class AcmCertificateImporter implements CertificateImporter {
  readonly #clientFor: (region: string | undefined) => ACMClient;
  readonly #clients = new Map<string, ACMClient>();

  constructor(options: AcmCertificateImporterOptions = {}) {
    this.#clientFor =
      options.clientFor ??
      ((region) => {
        const key = region ?? '';
        let client = this.#clients.get(key);
        if (!client) {
          client = new ACMClient(region ? { region } : {});
          this.#clients.set(key, client);
        }
        return client;
      });
  }

  async importCertificate(request: CertificateImport): Promise<{ arn: string }> {
    const client = this.#clientFor(request.arn ? regionOfArn(request.arn) : undefined);
    const encoder = new TextEncoder();
    try {
      const answer = await client.send(
        new ImportCertificateCommand({
          Certificate: encoder.encode(request.certificate),
          PrivateKey: encoder.encode(request.privateKey.reveal()),
          ...(request.chain.trim() ? { CertificateChain: encoder.encode(request.chain) } : {}),
          ...(request.arn
            ? { CertificateArn: request.arn }
            : { Tags: [{ Key: ACM_SECRET_TAG, Value: request.secretId.slice(0, 256) }] }),
        }),
      );
      if (!answer.CertificateArn) {
        throw new CertloopError('transient', 'ACM ImportCertificate answered without an ARN', {
          source: ACM_SOURCE,
        });
      }
      return { arn: answer.CertificateArn };
    } catch (error) {
      throw translateAcmError(error, request);
    }
  }
}

/** The region named by an ACM certificate ARN, or undefined when it is not one. */
export function regionOfArn(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[A-Za-z0-9-]+$/.exec(arn)?.[1];
}

/**
 * An ACM (or SDK) error as a CertloopError, matched by name and HTTP status, never by
 * class. The message names the target and never the pair (ACM's own messages do not
 * echo it).
 */
export function translateAcmError(error: unknown, request: CertificateImport): CertloopError {
  if (error instanceof CertloopError) return error;
  const name = sdkErrorName(error) || undefined;
  const status = sdkHttpStatus(error) || undefined;
  const detail = error instanceof Error ? error.message : String(error);
  const target = request.arn
    ? `re-import into ${request.arn}`
    : `import of the certificate of ${request.secretId}`;
  const options = { source: ACM_SOURCE, cause: error };
  const code = `${name ?? 'error'}${status === undefined ? '' : `, HTTP ${status}`}`;

  if (name === 'ResourceNotFoundException') {
    return new CertloopError(
      'not-found',
      `ACM ${target} failed: the certificate does not exist (${code}: ${detail}). ` +
        'Point the certloop:acm tag at an existing certificate, or set it to "new".',
      options,
    );
  }
  if (sdkErrorClass(name) === 'access-denied' || status === 403) {
    return new CertloopError(
      'permanent',
      `ACM ${target} was denied (${code}: ${detail}). Deploy with acmImport enabled, which ` +
        'grants the worker acm:ImportCertificate and acm:AddTagsToCertificate in this account.',
      options,
    );
  }
  if (
    sdkErrorClass(name) === 'unavailable' ||
    sdkErrorClass(name) === 'credentials' ||
    // ACM's own "try again later" (the shared names: sdk-errors.ts).
    name === 'RequestInProgressException' ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    (status === undefined && isNetworkError(error))
  ) {
    return new CertloopError(
      'infrastructure',
      `ACM ${target} is throttled or unavailable (${code}): ${detail}`,
      options,
    );
  }
  if (
    name === 'ValidationException' ||
    name === 'InvalidArnException' ||
    name === 'InvalidParameterException' ||
    name === 'LimitExceededException'
  ) {
    return new CertloopError(
      'permanent',
      `ACM ${target} was refused (${code}): ${detail}`,
      options,
    );
  }
  return new CertloopError('transient', `ACM ${target} failed (${code}): ${detail}`, options);
}
