import { Aws, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '../../src/config/environment.js';
import {
  ACCOUNT_KEY_TAG,
  DEFAULT_ACCOUNT_KEY_PREFIX,
  REGISTRATION_TAG_KEY,
} from '../../src/config/shared-names.js';

export interface CertificateSecretsProps {
  /**
   * Name prefix of the ACME account-key secrets that the worker creates at first use
   * (one per ACME directory). The worker may create and read secrets under this prefix
   * only.
   * @default 'certloop/acme-account/'
   */
  readonly accountKeyPrefix?: string;
  /**
   * ARNs of customer-managed KMS keys that encrypt registered certificate secrets. The
   * worker may use them only through Secrets Manager (kms:ViaService). Secrets encrypted
   * with the AWS-managed key `aws/secretsmanager` need nothing here.
   * @default [] (the AWS-managed key only: no KMS grant)
   */
  readonly encryptionKeyArns?: string[];
}

/** The Secrets Manager value that the SecretStore adapter reads from CERTLOOP_SECRET_STORE. */
const SECRET_STORE_KIND = 'secrets-manager';

/**
 * The certificate secrets: the user creates a secret and tags it `certloop:domains`;
 * certloop only adds versions to it. Nothing is created here: the construct turns that
 * contract into IAM.
 *
 * - `grantWrite(fn)`: the issuing path. Versions, staging labels and reads, only on
 *   secrets that carry the `certloop:domains` tag; create/read of the ACME account-key
 *   secrets under the prefix; KMS through Secrets Manager for the listed keys.
 * - `grantDiscover(fn)`: the registration sweep. ListSecrets (filtered by tag key).
 *
 * Both set CERTLOOP_SECRET_STORE and CERTLOOP_ACCOUNT_KEY_PREFIX.
 */
export class CertificateSecrets extends Construct {
  readonly accountKeyPrefix: string;
  readonly encryptionKeyArns: readonly string[];

  constructor(scope: Construct, id: string, props: CertificateSecretsProps = {}) {
    super(scope, id);
    this.accountKeyPrefix = props.accountKeyPrefix ?? DEFAULT_ACCOUNT_KEY_PREFIX;
    this.encryptionKeyArns = [...(props.encryptionKeyArns ?? [])];
    if (!/^[A-Za-z0-9/_+=.@-]{1,400}$/.test(this.accountKeyPrefix)) {
      throw new Error(
        `CertificateSecrets: accountKeyPrefix "${this.accountKeyPrefix}" holds characters a secret name cannot`,
      );
    }
    for (const arn of this.encryptionKeyArns) {
      if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(arn)) {
        throw new Error(
          `CertificateSecrets: "${arn}" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; aliases are not accepted)`,
        );
      }
    }
  }

  // The ARNs use the pseudo-parameter tokens even in a stack with a concrete environment,
  // so that they (and the cdk-nag findings acknowledged below) read the same everywhere.

  /** Every secret of this account and region (narrowed by the tag condition where used). */
  get anySecretArn(): string {
    return `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:*`;
  }

  /** The ACME account-key secrets (a secret ARN ends in `-` and six random characters). */
  get accountKeySecretArn(): string {
    return `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${this.accountKeyPrefix}*`;
  }

  /** Sets the secret-store variables without any permission. */
  configure(fn: lambda.Function): void {
    fn.addEnvironment(ENV.secretStore, SECRET_STORE_KIND);
    fn.addEnvironment(ENV.accountKeyPrefix, this.accountKeyPrefix);
  }

  /** The issuing path: certificate versions on tagged secrets, account keys, KMS. */
  grantWrite(fn: lambda.Function): void {
    this.configure(fn);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'WriteRegisteredCertificateSecrets',
        actions: [
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
          'secretsmanager:ListSecretVersionIds',
        ],
        resources: [this.anySecretArn],
        conditions: { Null: { [`aws:ResourceTag/${REGISTRATION_TAG_KEY}`]: 'false' } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadAcmeAccountKeys',
        actions: [
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
        ],
        resources: [this.accountKeySecretArn],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'CreateAcmeAccountKeys',
        actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
        resources: [this.accountKeySecretArn],
        conditions: {
          StringEquals: { [`aws:RequestTag/${ACCOUNT_KEY_TAG.Key}`]: ACCOUNT_KEY_TAG.Value },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [ACCOUNT_KEY_TAG.Key] },
        },
      }),
    );
    if (this.encryptionKeyArns.length > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'UseSecretKeysThroughSecretsManager',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [...this.encryptionKeyArns],
          conditions: {
            StringEquals: {
              'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com`,
            },
          },
        }),
      );
    }
    const policy = fn.role?.node.tryFindChild('DefaultPolicy');
    if (policy) {
      Validations.of(policy).acknowledge(
        {
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:*]`,
          reason:
            'Certificate secrets are created and named by their owners, so no name pattern ' +
            `can select them; the statement applies only to secrets that carry the ${REGISTRATION_TAG_KEY} ` +
            `tag (condition Null aws:ResourceTag/${REGISTRATION_TAG_KEY} = false), which is the ` +
            'registration contract. Untagged secrets stay out of reach.',
        },
        {
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${this.accountKeyPrefix}*]`,
          reason:
            'The ACME account-key secrets are created by the worker at first use, one per ACME ' +
            `directory, named ${this.accountKeyPrefix}<hash>; Secrets Manager appends a random suffix ` +
            'to every secret ARN, so the prefix wildcard is the narrowest ARN. Creation also ' +
            `requires the ${ACCOUNT_KEY_TAG.Key}=${ACCOUNT_KEY_TAG.Value} tag.`,
        },
      );
    }
  }

  /** The registration sweep: ListSecrets filtered by the registration tag key. */
  grantDiscover(fn: lambda.Function): void {
    this.configure(fn);
    if (!fn.role) throw new Error('CertificateSecrets.grantDiscover: the function has no role');
    // A policy of its own, so that its Resource "*" is acknowledged apart from the rest.
    const policy = new iam.Policy(fn, 'ListRegisteredSecrets', {
      roles: [fn.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'ListRegisteredSecrets',
          actions: ['secretsmanager:ListSecrets'],
          resources: ['*'],
        }),
      ],
    });
    fn.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'secretsmanager:ListSecrets supports no resource-level permissions, so "*" is the only ' +
        'valid resource. It returns metadata and tags, never secret values; the sweep uses it ' +
        `with a tag-key filter for ${REGISTRATION_TAG_KEY}. This policy holds nothing else.`,
    });
  }
}
