import { Aws, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  certificateIssuedPattern,
  type SecretRef,
  secretArnOf,
} from './certificate-issued-rule.js';
import { shellQuote, shellWords } from './shell-words.js';

/** One secret and the folder its pair is exported to on every selected instance. */
export interface InstanceExport {
  /** The certificate's secret (certloop-managed): the construct or its full ARN. */
  readonly secret: SecretRef;
  /** Where `certloop cert export` writes `fullchain.pem`, `privkey.pem`, ... */
  readonly outDir: string;
}

/** The instances the command runs on: by one tag (any of its values) or by id. */
export type InstanceSelection =
  | { readonly tag: { readonly key: string; readonly values: readonly string[] } }
  | { readonly instanceIds: readonly string[] };

export interface ExportToInstancesProps {
  /** The secrets to export, each to its folder. At least one. */
  readonly exports: readonly InstanceExport[];
  /** Which EC2 instances (managed by SSM) run the export. */
  readonly instances: InstanceSelection;
  /**
   * Run after the pair changed (`--on-change`), through the host's shell.
   * @default - none: only the files change
   */
  readonly onChange?: string;
  /**
   * The certloop command on the instances (a name on the agent's PATH or a full path).
   * @default 'certloop'
   */
  readonly certloopCommand?: string;
}

/** The SSM document the target runs: a shell script made of `commands`. */
export const RUN_SHELL_SCRIPT = 'AWS-RunShellScript';

/** Where the input transformer reads the event's secret ARN for the script. */
export const EVENT_ARN_PATH = '$.detail.secretArn';

/** What the script says and exits with when the event names no configured secret. */
export const UNKNOWN_SECRET_EXIT = 64;

/**
 * The line of the heredoc that ends the event's value. Only a value holding this exact
 * line could end it early, and such a value is never a configured ARN, so the rule's
 * pattern never delivers it.
 */
const ARN_HEREDOC_END = 'CERTLOOP_EVENT_SECRET_ARN_END';

/** What a configured secret ARN may hold: the characters Secrets Manager ARNs use. */
const ARN_CHARACTERS = 'A-Za-z0-9:/_+=.@-';

/**
 * The shell script (as Run Command's `commands`: one line each) that exports the secret
 * an event names. `arnLine` is the line where the event's ARN goes: the input transformer
 * fills it in; a test fills it in the same way.
 *
 * The event's value is read through a quoted heredoc (no expansion, no quoting to break),
 * refused unless it is made of ARN characters only, and then compared with `case` to the
 * configured ARNs, each a quoted literal. The export itself is run with the configured,
 * quoted ARN, never with the event's text; anything else exits 64 and runs nothing.
 * The script holds no `<` or `>` besides the heredoc's `<<` (the input template reads
 * `<name>` as a placeholder).
 */
export function exportScript(
  props: Pick<ExportToInstancesProps, 'exports' | 'onChange' | 'certloopCommand'>,
  arnLine: string,
): string[] {
  const command = props.certloopCommand ?? 'certloop';
  const refuse = (why: string) =>
    `echo ${shellQuote(`certloop: ${why}`)}; exit ${UNKNOWN_SECRET_EXIT};;`;
  const branches = props.exports.map(({ secret, outDir }) => {
    const arn = secretArnOf(secret);
    if (!Token.isUnresolved(arn) && !new RegExp(`^[${ARN_CHARACTERS}]+$`).test(arn)) {
      throw new Error(
        `ExportToInstances: ${JSON.stringify(arn)} is not a secret ARN (the script would never match it)`,
      );
    }
    const words = [command, 'cert', 'export', '--secret', arn, '--aws', '--out', outDir];
    if (props.onChange !== undefined) words.push('--on-change', props.onChange);
    return `  ${shellQuote(arn)}) exec ${shellWords(words)};;`;
  });
  return [
    `certloop_event_arn=$(cat <<'${ARN_HEREDOC_END}'`,
    arnLine,
    ARN_HEREDOC_END,
    ')',
    'case "$certloop_event_arn" in',
    `  ''|*[!${ARN_CHARACTERS}]*) ${refuse('the event names no secret ARN; nothing exported')}`,
    'esac',
    'case "$certloop_event_arn" in',
    ...branches,
    `  *) ${refuse('the event names a secret this rule does not export; nothing exported')}`,
    'esac',
  ];
}

/** Run Command's instance targets for the selection. */
function runCommandTargets(
  selection: InstanceSelection,
): events.CfnRule.RunCommandTargetProperty[] {
  if ('tag' in selection) {
    if (selection.tag.values.length === 0) {
      throw new Error('ExportToInstances: instances.tag.values needs at least one value');
    }
    return [{ key: `tag:${selection.tag.key}`, values: [...selection.tag.values] }];
  }
  if (selection.instanceIds.length === 0) {
    throw new Error('ExportToInstances: instances.instanceIds needs at least one id');
  }
  return [{ key: 'InstanceIds', values: [...selection.instanceIds] }];
}

/**
 * Immediate pickup on EC2: when certloop issues or renews one of the configured secrets,
 * an EventBridge rule on the default bus sends Run Command (`AWS-RunShellScript`) to the
 * selected instances, which run `certloop cert export --secret <arn> --aws --out <dir>
 * [--on-change <cmd>]` for that secret. The instances need the SSM agent, certloop on the
 * agent's PATH (or `certloopCommand`), and an instance role that may read the secret
 * (`secretsmanager:GetSecretValue`, plus `kms:Decrypt` with a customer key).
 *
 * The role EventBridge assumes may only `ssm:SendCommand` the one document, on the
 * selected instances (their ARNs, or any instance carrying the tag with one of the values).
 */
export class ExportToInstances extends Construct {
  readonly rule: events.Rule;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ExportToInstancesProps) {
    super(scope, id);
    if (props.exports.length === 0) {
      throw new Error('ExportToInstances: exports needs at least one secret');
    }
    const targets = runCommandTargets(props.instances);
    const documentArn = `arn:${Aws.PARTITION}:ssm:${Aws.REGION}::document/${RUN_SHELL_SCRIPT}`;

    this.role = new iam.Role(this, 'SendCommandRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: 'certloop: EventBridge runs certloop cert export on the selected instances',
    });
    const instances = props.instances;
    const instanceStatement =
      'tag' in instances
        ? new iam.PolicyStatement({
            sid: 'SendCommandToTaggedInstances',
            actions: ['ssm:SendCommand'],
            resources: [`arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:instance/*`],
            conditions: {
              StringEquals: { [`ssm:resourceTag/${instances.tag.key}`]: [...instances.tag.values] },
            },
          })
        : new iam.PolicyStatement({
            sid: 'SendCommandToInstances',
            actions: ['ssm:SendCommand'],
            resources: instances.instanceIds.map(
              (instanceId) =>
                `arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:instance/${instanceId}`,
            ),
          });
    const policy = new iam.Policy(this, 'SendCommand', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'SendTheShellScriptDocument',
          actions: ['ssm:SendCommand'],
          resources: [documentArn],
        }),
        instanceStatement,
      ],
    });
    if ('tag' in instances) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]`,
        reason:
          'Run Command selects the instances by tag when the command is sent, so their ids are ' +
          'not known here: the statement is limited to instances of this account and region ' +
          'that carry the configured tag with one of its values (condition ssm:resourceTag).',
      });
    }

    const arnField = events.EventField.fromPath(EVENT_ARN_PATH);
    const lines = exportScript(props, '\u0000arn\u0000');
    const commands = lines.map((line) => (line === '\u0000arn\u0000' ? arnField : line));
    this.rule = new events.Rule(this, 'OnCertificateIssued', {
      description: 'certloop: export renewed certificates on EC2 instances (Run Command)',
      eventPattern: certificateIssuedPattern(props.exports.map((e) => e.secret)),
    });
    this.rule.addTarget({
      bind: () => ({
        arn: documentArn,
        role: this.role,
        runCommandParameters: { runCommandTargets: targets },
        input: events.RuleTargetInput.fromObject({ commands }),
      }),
    });
  }
}
