import { spawnSync } from 'node:child_process';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  certificateIssuedPattern,
  ExportToInstances,
  exportScript,
  RedeployEcsService,
  UNKNOWN_SECRET_EXIT,
} from '../../infra/index.js';
import { EVENT_SOURCE, EVENT_TYPES } from '../../src/core/certificate-events.js';
import { buildConsumersApp, CONSUMERS, type ConsumersStack } from './fixtures/consumers-app.js';
import {
  certificateIssuedEvent,
  type InputTransformer,
  runShellScriptFor,
} from './fixtures/run-command-input.js';
import { type Resource, type Statement, TemplateQueries } from './fixtures/template-queries.js';

let built: { stack: ConsumersStack; q: TemplateQueries } | undefined;

/** The consumers app, synthesized once for the file (the tests only read it). */
function build() {
  if (!built) {
    const { stack } = buildConsumersApp({ bundle: false });
    const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> };
    built = { stack, q: new TemplateQueries(stack, template) };
  }
  return built;
}

interface RuleTarget {
  Arn: unknown;
  RoleArn?: unknown;
  Input?: string;
  InputTransformer?: InputTransformer;
  RunCommandParameters?: { RunCommandTargets: Array<{ Key: string; Values: string[] }> };
}

function ruleOf(q: TemplateQueries, construct: { rule: { node: unknown } }) {
  const rule = q.resource(construct.rule as never);
  const targets = rule.Properties?.Targets as RuleTarget[];
  return { pattern: rule.Properties?.EventPattern, targets };
}

function statementsOf(resource: Resource): Statement[] {
  const document = resource.Properties?.PolicyDocument as { Statement: Statement[] } | undefined;
  return document?.Statement ?? [];
}

const DOCUMENT_ARN = {
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':ssm:',
      { Ref: 'AWS::Region' },
      '::document/AWS-RunShellScript',
    ],
  ],
};

describe('the Certificate Issued pattern', () => {
  it('matches source certloop, the detail-type and exactly the given secret ARNs, once each', () => {
    expect(
      certificateIssuedPattern([CONSUMERS.wwwArn, CONSUMERS.apiArn, CONSUMERS.wwwArn]),
    ).toEqual({
      source: [EVENT_SOURCE],
      detailType: [EVENT_TYPES.issued],
      detail: { secretArn: [CONSUMERS.wwwArn, CONSUMERS.apiArn] },
    });
  });

  it('refuses an empty list, which would match every secret', () => {
    expect(() => certificateIssuedPattern([])).toThrow(/at least one secret/);
  });
});

describe('ExportToInstances', () => {
  it('fires on Certificate Issued of the configured secrets only, in the template', () => {
    const { stack, q } = build();
    expect(ruleOf(q, stack.byTag).pattern).toEqual({
      source: ['certloop'],
      'detail-type': ['Certificate Issued'],
      detail: { secretArn: [CONSUMERS.wwwArn, CONSUMERS.apiArn] },
    });
    expect(ruleOf(q, stack.byId).pattern).toEqual({
      source: ['certloop'],
      'detail-type': ['Certificate Issued'],
      detail: { secretArn: [CONSUMERS.wwwArn] },
    });
  });

  it('sends AWS-RunShellScript to the instances with the tag, or to the listed ids, as its own role', () => {
    const { stack, q } = build();
    const [byTag, ...moreByTag] = ruleOf(q, stack.byTag).targets;
    expect(moreByTag).toEqual([]);
    expect(byTag?.Arn).toEqual(DOCUMENT_ARN);
    expect(byTag?.RunCommandParameters).toEqual({
      RunCommandTargets: [{ Key: `tag:${CONSUMERS.tag.key}`, Values: [...CONSUMERS.tag.values] }],
    });
    expect(byTag?.RoleArn).toEqual({ 'Fn::GetAtt': [q.logicalId(stack.byTag.role), 'Arn'] });
    const [byId] = ruleOf(q, stack.byId).targets;
    expect(byId?.RunCommandParameters).toEqual({
      RunCommandTargets: [{ Key: 'InstanceIds', Values: [...CONSUMERS.instanceIds] }],
    });
  });

  it('lets its role, assumed by EventBridge only, send that one document to those instances and do nothing else', () => {
    const { stack, q } = build();
    expect(q.resource(stack.byTag.role).Properties?.AssumeRolePolicyDocument).toMatchObject({
      Statement: [{ Action: 'sts:AssumeRole', Principal: { Service: 'events.amazonaws.com' } }],
    });
    const policies = q
      .ofType('AWS::IAM::Policy')
      .filter(([, p]) =>
        JSON.stringify(p.Properties?.Roles).includes(q.logicalId(stack.byTag.role)),
      );
    expect(policies).toHaveLength(1);
    const statements = statementsOf(policies[0]?.[1] as Resource);
    expect(statements.map((s) => s.Action)).toEqual(['ssm:SendCommand', 'ssm:SendCommand']);
    expect(statements[0]?.Resource).toEqual(DOCUMENT_ARN);
    expect(JSON.stringify(statements[1]?.Resource)).toContain(':instance/*');
    expect(statements[1]?.Condition).toEqual({
      StringEquals: { [`ssm:resourceTag/${CONSUMERS.tag.key}`]: [...CONSUMERS.tag.values] },
    });

    const byIdPolicy = q
      .ofType('AWS::IAM::Policy')
      .find(([, p]) => JSON.stringify(p.Properties?.Roles).includes(q.logicalId(stack.byId.role)));
    const byIdStatements = statementsOf(byIdPolicy?.[1] as Resource);
    expect(byIdStatements[1]?.Condition).toBeUndefined();
    const instances = JSON.stringify(byIdStatements[1]?.Resource);
    for (const id of CONSUMERS.instanceIds) expect(instances).toContain(`:instance/${id}"`);
    expect(instances).not.toContain('instance/*');
  });

  it("puts the event's ARN into the script only as a JSON value, outside any quotes, and holds no other placeholder", () => {
    const { stack, q } = build();
    const [target] = ruleOf(q, stack.byTag).targets;
    const transformer = target?.InputTransformer as InputTransformer;
    expect(Object.values(transformer.InputPathsMap)).toEqual(['$.detail.secretArn']);
    const [name] = Object.keys(transformer.InputPathsMap);
    expect(transformer.InputTemplate).toContain(`,<${name}>,`);
    // `<x>` reads as a placeholder: the script has no other angle brackets but the heredoc's.
    const rest = transformer.InputTemplate.replace(`<${name}>`, '').replace("<<'", '');
    expect(rest).not.toMatch(/[<>]/);
  });

  it('runs cert export for the configured secret of the event, all configured values quoted', () => {
    const { stack, q } = build();
    const [target] = ruleOf(q, stack.byTag).targets;
    const script = runShellScriptFor(
      target?.InputTransformer as InputTransformer,
      certificateIssuedEvent(CONSUMERS.apiArn),
    );
    expect(script).toContain(
      `'${CONSUMERS.apiArn}') exec 'certloop' 'cert' 'export' '--secret' '${CONSUMERS.apiArn}' ` +
        `'--aws' '--out' '${CONSUMERS.apiOut}' '--on-change' '${CONSUMERS.onChange}';;`,
    );
    const [byId] = ruleOf(q, stack.byId).targets;
    const bastion = runShellScriptFor(
      byId?.InputTransformer as InputTransformer,
      certificateIssuedEvent(CONSUMERS.wwwArn),
    );
    expect(bastion).toContain(`exec '/usr/local/bin/certloop' 'cert' 'export'`);
    expect(bastion).not.toContain('--on-change');
  });

  it('quotes hostile configured values so that a shell reads each back as one word', () => {
    const outDir = "/srv/tls/`id`/it's here; rm -rf /";
    const onChange = "kill -HUP $(cat /run/nginx.pid) && echo 'done'";
    const script = exportScript(
      {
        exports: [{ secret: CONSUMERS.wwwArn, outDir }],
        onChange,
        certloopCommand: "/opt/certloop's bin/certloop",
      },
      CONSUMERS.wwwArn,
    ).join('\n');
    // A fake certloop: a shell function named like the configured command prints its
    // arguments, one per line (exec of a function name is not possible, so run it plainly).
    const run = spawnSync(
      'sh',
      [
        '-c',
        `fake() { printf '%s\\n' "$@"; }\n${script.replace("exec '/opt/certloop'\\''s bin/certloop'", 'fake')}`,
      ],
      { encoding: 'utf8' },
    );
    expect(run.stdout.split('\n').slice(0, -1)).toEqual([
      'cert',
      'export',
      '--secret',
      CONSUMERS.wwwArn,
      '--aws',
      '--out',
      outDir,
      '--on-change',
      onChange,
    ]);
  });

  it('refuses at synthesis a configured secret ARN that the script could never match', () => {
    expect(() =>
      exportScript(
        {
          exports: [
            { secret: "arn:aws:secretsmanager:eu-west-1:1:secret:it's-$(id)", outDir: '/x' },
          ],
        },
        '',
      ),
    ).toThrow(/is not a secret ARN/);
  });

  it('with a secret that is not configured, exits 64 and runs nothing', () => {
    const script = exportScript(
      { exports: [{ secret: CONSUMERS.wwwArn, outDir: CONSUMERS.wwwOut }] },
      CONSUMERS.apiArn,
    ).join('\n');
    const run = spawnSync(
      'sh',
      ['-c', `certloop() { echo RAN; }\n${script.replace('exec ', '')}`],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(UNKNOWN_SECRET_EXIT);
    expect(run.stdout).not.toContain('RAN');
    expect(run.stdout).toMatch(/does not export/);
  });

  it('refuses an empty export list or instance selection', () => {
    const stack = new Stack(new App());
    expect(
      () =>
        new ExportToInstances(stack, 'None', {
          exports: [],
          instances: { instanceIds: ['i-0123456789abcdef0'] },
        }),
    ).toThrow(/at least one secret/);
    expect(
      () =>
        new ExportToInstances(stack, 'Nowhere', {
          exports: [{ secret: CONSUMERS.wwwArn, outDir: '/tmp/x' }],
          instances: { tag: { key: 'role', values: [] } },
        }),
    ).toThrow(/at least one value/);
  });
});

describe('RedeployEcsService', () => {
  it('calls ECS UpdateService with forceNewDeployment for the service, on Certificate Issued of its secrets', () => {
    const { stack, q } = build();
    const { pattern, targets } = ruleOf(q, stack.ecsService);
    expect(pattern).toEqual({
      source: ['certloop'],
      'detail-type': ['Certificate Issued'],
      detail: { secretArn: [CONSUMERS.wwwArn] },
    });
    expect(targets).toHaveLength(1);
    expect(JSON.parse(targets[0]?.Input ?? '{}')).toEqual({
      service: 'ECS',
      action: 'updateService',
      parameters: {
        cluster: CONSUMERS.clusterName,
        service: CONSUMERS.serviceName,
        forceNewDeployment: true,
      },
    });
  });

  it('lets the target function call ecs:UpdateService on that service only', () => {
    const { q } = build();
    const statements = q
      .ofType('AWS::IAM::Policy')
      .flatMap(([, policy]) => statementsOf(policy))
      .filter((s) => JSON.stringify(s.Action).includes('ecs:'));
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toBe('ecs:UpdateService');
    expect(JSON.stringify(statements[0]?.Resource)).toContain(
      `:ecs:${CONSUMERS.region}:${CONSUMERS.account}:service/${CONSUMERS.clusterName}/${CONSUMERS.serviceName}"`,
    );
  });

  it('takes a service by cluster ARN and name, in the cluster ARN account and region', () => {
    const stack = new Stack(new App(), 'Named', {
      env: { account: '111111111111', region: 'us-east-1' },
    });
    const redeploy = new RedeployEcsService(stack, 'Redeploy', {
      secrets: [CONSUMERS.wwwArn],
      service: {
        cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/platform',
        serviceName: 'api',
      },
    });
    expect(redeploy.call).toEqual({
      cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/platform',
      service: 'api',
      forceNewDeployment: true,
    });
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    expect(JSON.stringify(policies)).toContain(':ecs:eu-west-1:123456789012:service/platform/api"');
  });
});
