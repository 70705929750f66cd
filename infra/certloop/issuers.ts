import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '../../src/config/environment.js';

/** Let's Encrypt staging: untrusted certificates, generous rate limits. The default. */
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';
/** Let's Encrypt production. */
export const LETS_ENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';

/**
 * External Account Binding: CAs such as ZeroSSL and Google Trust Services bind a new ACME
 * account to an account of theirs with a key id and an HMAC key.
 */
export interface CertLoopIssuerEab {
  /** The EAB key id (`kid`) the CA gave. */
  readonly keyId: string;
  /**
   * ARN of the Secrets Manager secret holding the HMAC key the CA gave, as the JSON
   * `{"hmacKey":"<base64url key>"}`. The key itself never appears in the template, the
   * environment or the logs; the worker may read exactly this secret. Give the full
   * ARN (with the `-xxxxxx` suffix Secrets Manager appends); an ARN without it is
   * granted as `<arn>-??????`.
   */
  readonly hmacKeySecretArn: string;
}

/** An ACME CA that certificates can be issued by. */
export interface CertLoopIssuer {
  /** The ACME directory URL (https). */
  readonly directoryUrl: string;
  /**
   * Contact email registered with the ACME account.
   * @default - no contact
   */
  readonly contactEmail?: string;
  /**
   * The CA exempts renewals that name their predecessor (`replaces`) from its order
   * limits, so the planner admits them outside the order budget.
   * @default - true for Let's Encrypt directories, false otherwise
   */
  readonly ariRenewalsExempt?: boolean;
  /**
   * External Account Binding, for CAs that require it (ZeroSSL, Google Trust Services).
   * @default - no EAB
   */
  readonly eab?: CertLoopIssuerEab;
  /**
   * The ACME profile (e.g. `tlsserver`, `shortlived`) of certificates whose secret names
   * none with the `certloop:profile` tag.
   * @default - the CA's default profile
   */
  readonly profile?: string;
}

export interface IssuersProps {
  /**
   * Named ACME issuers; a secret picks one with the `certloop:issuer` tag. Names are
   * lower-case letters, digits and `-`.
   * @default { default: { directoryUrl: LETS_ENCRYPT_STAGING } }
   */
  readonly issuers?: Record<string, CertLoopIssuer>;
  /**
   * The issuer for secrets that name none.
   * @default - the only issuer, or the one named `default`
   */
  readonly defaultIssuer?: string;
}

/** A Secrets Manager ARN ends in `-` and the six random characters the service appends. */
const RANDOM_SUFFIX = /-[A-Za-z0-9]{6}$/;

/**
 * The IAM resource of an EAB HMAC key secret: the ARN as given when it is complete (or a
 * token, such as `secret.secretArn`), else the ARN of the name plus `-??????` (exactly
 * the six random characters, no wider).
 */
export function hmacKeySecretResource(arn: string): string {
  return Token.isUnresolved(arn) || RANDOM_SUFFIX.test(arn) ? arn : `${arn}-??????`;
}

/**
 * The ACME issuers.
 *
 * - `configure(fn)`: CERTLOOP_ISSUERS (and CERTLOOP_DEFAULT_ISSUER when given), no IAM:
 *   for functions that read the issuers but create no ACME account (sweep, renew).
 * - `grantAccountSetup(fn)`: the same, plus `secretsmanager:GetSecretValue` on exactly
 *   the EAB HMAC key secrets of the issuers: for the function that creates the ACME
 *   accounts (the worker). The account keys themselves are covered by CertificateSecrets;
 *   a customer-managed KMS key of an HMAC secret goes in `secretEncryptionKeyArns`.
 * - `configureRotation(fn, batch)`: the planner's issuer rotation.
 */
export class Issuers extends Construct {
  readonly issuers: Readonly<Record<string, CertLoopIssuer>>;
  readonly defaultIssuer?: string;

  constructor(scope: Construct, id: string, props: IssuersProps = {}) {
    super(scope, id);
    this.issuers = props.issuers ?? { default: { directoryUrl: LETS_ENCRYPT_STAGING } };
    if (props.defaultIssuer !== undefined) this.defaultIssuer = props.defaultIssuer;
  }

  /** The value of CERTLOOP_ISSUERS (key ids and secret ARNs; never a key). */
  get issuersJson(): string {
    const entries = Object.entries(this.issuers).map(([name, issuer]) => [
      name,
      {
        directoryUrl: issuer.directoryUrl,
        ...(issuer.contactEmail ? { contactEmail: issuer.contactEmail } : {}),
        ...(issuer.ariRenewalsExempt !== undefined
          ? { ariRenewalsExempt: issuer.ariRenewalsExempt }
          : {}),
        ...(issuer.eab
          ? { eab: { keyId: issuer.eab.keyId, hmacKeySecretArn: issuer.eab.hmacKeySecretArn } }
          : {}),
        ...(issuer.profile ? { profile: issuer.profile } : {}),
      },
    ]);
    return JSON.stringify(Object.fromEntries(entries));
  }

  /** The IAM resources of the EAB HMAC key secrets, one per distinct secret. */
  get hmacKeySecretResources(): string[] {
    const arns = Object.values(this.issuers).flatMap((issuer) =>
      issuer.eab ? [hmacKeySecretResource(issuer.eab.hmacKeySecretArn)] : [],
    );
    return [...new Set(arns)];
  }

  /**
   * The issuer of secrets that name none, as the functions resolve it: the given one,
   * else the only issuer, else `default`.
   */
  get effectiveDefaultIssuer(): string {
    if (this.defaultIssuer !== undefined) return this.defaultIssuer;
    const names = Object.keys(this.issuers);
    return names.length === 1 && names[0] !== undefined ? names[0] : 'default';
  }

  /**
   * The planner's issuer rotation: CERTLOOP_DEFAULT_ISSUER (the effective default issuer:
   * the target each planner run moves records toward) and CERTLOOP_ROTATION_BATCH. The
   * table permissions it needs come from RecordsTable (list, read/put).
   */
  configureRotation(fn: lambda.Function, batch: number): void {
    // The issuers too: the planner admits replacing renewals of exempt CAs outside the budget.
    fn.addEnvironment(ENV.issuers, this.issuersJson);
    fn.addEnvironment(ENV.defaultIssuer, this.effectiveDefaultIssuer);
    fn.addEnvironment(ENV.rotationBatch, `${batch}`);
  }

  /** Sets the issuer variables (no IAM: for functions that create no ACME account). */
  configure(fn: lambda.Function): void {
    fn.addEnvironment(ENV.issuers, this.issuersJson);
    if (this.defaultIssuer !== undefined) fn.addEnvironment(ENV.defaultIssuer, this.defaultIssuer);
  }

  /**
   * Sets the issuer variables and lets the function read the EAB HMAC key secrets of the
   * issuers, and nothing else: for the function that creates the ACME accounts.
   */
  grantAccountSetup(fn: lambda.Function): void {
    this.configure(fn);
    const resources = this.hmacKeySecretResources;
    if (resources.length === 0) return;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadEabHmacKeys',
        actions: ['secretsmanager:GetSecretValue'],
        // '?' matches exactly one character: '-??????' is the random suffix, nothing wider.
        resources,
      }),
    );
  }
}
