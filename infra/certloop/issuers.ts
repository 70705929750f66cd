import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '../../src/config/environment.js';

/** Let's Encrypt staging: untrusted certificates, generous rate limits. The default. */
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';
/** Let's Encrypt production. */
export const LETS_ENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';

/** An ACME CA that certificates can be issued by. */
export interface CertLoopIssuer {
  /** The ACME directory URL. */
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

/**
 * The ACME issuers. `configure(fn)` sets CERTLOOP_ISSUERS (and CERTLOOP_DEFAULT_ISSUER
 * when given). Issuers need no IAM: the account keys are covered by CertificateSecrets.
 */
export class Issuers extends Construct {
  readonly issuers: Readonly<Record<string, CertLoopIssuer>>;
  readonly defaultIssuer?: string;

  constructor(scope: Construct, id: string, props: IssuersProps = {}) {
    super(scope, id);
    this.issuers = props.issuers ?? { default: { directoryUrl: LETS_ENCRYPT_STAGING } };
    if (props.defaultIssuer !== undefined) this.defaultIssuer = props.defaultIssuer;
  }

  /** The value of CERTLOOP_ISSUERS. */
  get issuersJson(): string {
    const entries = Object.entries(this.issuers).map(([name, issuer]) => [
      name,
      {
        directoryUrl: issuer.directoryUrl,
        ...(issuer.contactEmail ? { contactEmail: issuer.contactEmail } : {}),
        ...(issuer.ariRenewalsExempt !== undefined
          ? { ariRenewalsExempt: issuer.ariRenewalsExempt }
          : {}),
      },
    ]);
    return JSON.stringify(Object.fromEntries(entries));
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

  /** Sets the issuer variables. */
  configure(fn: lambda.Function): void {
    fn.addEnvironment(ENV.issuers, this.issuersJson);
    if (this.defaultIssuer !== undefined) fn.addEnvironment(ENV.defaultIssuer, this.defaultIssuer);
  }
}
