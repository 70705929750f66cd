import { Aws, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { STEK_TAG_KEY } from '../../src/config/shared-names.js';
import { STEK_ENV } from '../../src/config/stek-environment.js';

export interface StekSetsProps {
  /**
   * STEK set ids: a Secrets Manager secret name (created, tagged `certloop:stek`, on the
   * first rotation) or the ARN of an existing secret that carries the `certloop:stek` tag.
   * @default [] (no STEK rotation)
   */
  readonly sets?: string[];
  /**
   * Hours each key encrypts (a new key every period), 1-168.
   * @default 12 (the function's own default, CERTLOOP_STEK_PERIOD_HOURS unset)
   */
  readonly periodHours?: number;
  /**
   * Hours a key is kept after it stops encrypting, at least the period, up to 720.
   * @default 24, or the period when longer (CERTLOOP_STEK_RETENTION_HOURS unset)
   */
  readonly retentionHours?: number;
}

/** The ring store the STEK function selects with CERTLOOP_STEK_STORE. */
const STEK_STORE_KIND = 'secrets-manager';

/**
 * The STEK sets: one Secrets Manager secret per set, holding its key ring. Nothing is
 * created here; `grantRotate(fn)` sets CERTLOOP_STEK_SETS, CERTLOOP_STEK_STORE (and the
 * period and retention when given) and adds the Secrets Manager permissions of
 * `SecretsManagerStekStore`:
 *
 * - read, describe and put versions only on secrets tagged `certloop:stek`;
 * - describe and read the configured set names without the tag condition, so that a set
 *   that does not exist yet answers ResourceNotFound (then it is created) instead of
 *   AccessDenied: a tag condition cannot match a secret that does not exist. The store
 *   refuses to write to a secret without the tag;
 * - create (and tag) a secret only under a configured set name and only with the
 *   `certloop:stek` tag, whose value is the set id, as the only tag.
 *
 * The lease items (`stek#<set>`) are granted by `RecordsTable.grantStekLocks`.
 */
export class StekSets extends Construct {
  readonly setIds: readonly string[];
  readonly periodHours?: number;
  readonly retentionHours?: number;

  constructor(scope: Construct, id: string, props: StekSetsProps = {}) {
    super(scope, id);
    this.setIds = (props.sets ?? []).map((set) => set.trim());
    if (props.periodHours !== undefined) this.periodHours = props.periodHours;
    if (props.retentionHours !== undefined) this.retentionHours = props.retentionHours;
    for (const set of this.setIds) {
      const valid = set.startsWith('arn:')
        ? /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/.test(set)
        : /^[A-Za-z0-9/_+=.@-]{1,512}$/.test(set);
      if (!valid) {
        throw new Error(
          `StekSets: "${set}" is neither a secret name (A-Z a-z 0-9 /_+=.@-) nor a Secrets Manager secret ARN`,
        );
      }
    }
  }

  /** Whether any set is configured (without, the construct deploys no STEK function). */
  get enabled(): boolean {
    return this.setIds.length > 0;
  }

  /** The value of CERTLOOP_STEK_SETS. */
  get setsJson(): string {
    return JSON.stringify(this.setIds);
  }

  /** The environment the STEK function gets (also what the synth check reads). */
  get environment(): Record<string, string> {
    return {
      [STEK_ENV.sets]: this.setsJson,
      [STEK_ENV.store]: STEK_STORE_KIND,
      ...(this.periodHours !== undefined ? { [STEK_ENV.periodHours]: `${this.periodHours}` } : {}),
      ...(this.retentionHours !== undefined
        ? { [STEK_ENV.retentionHours]: `${this.retentionHours}` }
        : {}),
    };
  }

  /** Set ids that are secret names: the store creates these when they are missing. */
  get namedSets(): readonly string[] {
    return this.setIds.filter((set) => !set.startsWith('arn:'));
  }

  /** Every secret of this account and region (narrowed by the tag condition where used). */
  get anySecretArn(): string {
    return `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:*`;
  }

  /** The ARN of a secret by name: Secrets Manager appends `-` and six random characters. */
  secretArnOfName(name: string): string {
    return `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${name}-??????`;
  }

  /** The rotation function: the STEK variables and the Secrets Manager permissions. */
  grantRotate(fn: lambda.Function): void {
    for (const [name, value] of Object.entries(this.environment)) fn.addEnvironment(name, value);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RotateTaggedStekSets',
        actions: [
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
        ],
        resources: [this.anySecretArn],
        conditions: { Null: { [`aws:ResourceTag/${STEK_TAG_KEY}`]: 'false' } },
      }),
    );
    const named = this.namedSets;
    if (named.length > 0) {
      const arns = named.map((name) => this.secretArnOfName(name));
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'FindStekSetsByName',
          actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          resources: arns,
        }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'CreateStekSets',
          actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
          resources: arns,
          conditions: {
            StringEquals: { [`aws:RequestTag/${STEK_TAG_KEY}`]: [...named] },
            'ForAllValues:StringEquals': { 'aws:TagKeys': [STEK_TAG_KEY] },
          },
        }),
      );
    }
    const policy = fn.role?.node.tryFindChild('DefaultPolicy');
    if (policy) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:*]`,
        reason:
          'A STEK set given by ARN is a secret its owner created; its name has no pattern, so ' +
          `the statement applies only to secrets that carry the ${STEK_TAG_KEY} tag (condition ` +
          `Null aws:ResourceTag/${STEK_TAG_KEY} = false), the STEK contract. Certificate and ` +
          'other untagged secrets stay out of reach; creation is limited to the set names.',
      });
    }
  }
}
