import { basename } from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FUNCTION_ENTRIES } from '../../infra/certloop/certloop-function.js';
import { CONTEXT_DEFAULTS } from '../../infra/context.js';
import { METRIC_DIMENSIONS } from '../../infra/index.js';
import { EmfMetrics } from '../../src/adapters/logging/powertools-metrics.js';
import { ENV } from '../../src/config/environment.js';
import { METRICS } from '../../src/config/metrics.js';
import {
  DEFAULT_ACCOUNT_KEY_PREFIX,
  DUE_INDEX_NAME,
  DUE_INDEX_PARTITION_KEY,
  DUE_INDEX_PARTITION_KEY_TYPE,
  DUE_INDEX_PROJECTION,
  DUE_INDEX_SORT_KEY,
  DUE_INDEX_SORT_KEY_TYPE,
  ISSUED_BY_INDEX_NAME,
  ISSUED_BY_INDEX_PARTITION_KEY,
  ISSUED_BY_INDEX_PARTITION_KEY_TYPE,
  ISSUED_BY_INDEX_PROJECTION,
  REGISTRATION_TAG_KEY,
  STEK_TAG_KEY,
  TABLE_BILLING_MODE,
  TABLE_PARTITION_KEY,
  TABLE_PARTITION_KEY_TYPE,
} from '../../src/config/shared-names.js';
import { STEK_ENV } from '../../src/config/stek-environment.js';
import { buildCertLoopApp, cdkJsonContext, TEST_ZONE } from './fixtures/certloop-app.js';
import { actionsOf, policyStatements, TemplateQueries } from './fixtures/template-queries.js';

type Built = ReturnType<typeof buildCertLoopApp>;

let built: Built;
let template: Template;
let q: TemplateQueries;

beforeAll(() => {
  built = buildCertLoopApp({ hostedZones: JSON.stringify([TEST_ZONE]) });
  template = Template.fromStack(built.stack);
  q = new TemplateQueries(built.stack, template.toJSON());
});

const certloop = () => built.stack.certloop;

describe('the records table', () => {
  it('has the key, the sparse due and issued-by indexes and the billing mode of table-schema.ts', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: TABLE_PARTITION_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: TABLE_PARTITION_KEY, AttributeType: TABLE_PARTITION_KEY_TYPE },
        { AttributeName: DUE_INDEX_PARTITION_KEY, AttributeType: DUE_INDEX_PARTITION_KEY_TYPE },
        { AttributeName: DUE_INDEX_SORT_KEY, AttributeType: DUE_INDEX_SORT_KEY_TYPE },
        {
          AttributeName: ISSUED_BY_INDEX_PARTITION_KEY,
          AttributeType: ISSUED_BY_INDEX_PARTITION_KEY_TYPE,
        },
      ]),
      BillingMode: TABLE_BILLING_MODE,
      GlobalSecondaryIndexes: [
        {
          IndexName: DUE_INDEX_NAME,
          KeySchema: [
            { AttributeName: DUE_INDEX_PARTITION_KEY, KeyType: 'HASH' },
            { AttributeName: DUE_INDEX_SORT_KEY, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: DUE_INDEX_PROJECTION },
        },
        {
          IndexName: ISSUED_BY_INDEX_NAME,
          KeySchema: [{ AttributeName: ISSUED_BY_INDEX_PARTITION_KEY, KeyType: 'HASH' }],
          Projection: { ProjectionType: ISSUED_BY_INDEX_PROJECTION },
        },
      ],
    });
  });

  it('keeps point-in-time recovery, is retained and is encrypted with the stack key', () => {
    const table = q.resource(certloop().records.table);
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties?.PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: true,
    });
    expect(table.Properties?.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: { 'Fn::GetAtt': [q.logicalId(certloop().key), 'Arn'] },
    });
  });

  it('uses a key with rotation on', () => {
    expect(q.resource(certloop().key).Properties?.EnableKeyRotation).toBe(true);
  });
});

describe('the work queue', () => {
  it('redrives to the dead-letter queue after 5 receives and is KMS-encrypted', () => {
    const queue = q.resource(certloop().workQueue.queue).Properties;
    const dlq = q.resource(certloop().workQueue.deadLetterQueue).Properties;
    const keyArn = { 'Fn::GetAtt': [q.logicalId(certloop().key), 'Arn'] };
    expect(queue?.RedrivePolicy).toEqual({
      deadLetterTargetArn: {
        'Fn::GetAtt': [q.logicalId(certloop().workQueue.deadLetterQueue), 'Arn'],
      },
      maxReceiveCount: 5,
    });
    expect(queue?.KmsMasterKeyId).toEqual(keyArn);
    expect(dlq?.KmsMasterKeyId).toEqual(keyArn);
  });

  it('has a visibility timeout of at least six worker timeouts', () => {
    const workerTimeout = q.resource(certloop().worker).Properties?.Timeout as number;
    expect(workerTimeout).toBe(300);
    expect(q.resource(certloop().workQueue.queue).Properties?.VisibilityTimeout).toBe(
      6 * workerTimeout,
    );
  });

  it('refuses requests without TLS on both queues', () => {
    const policies = q.ofType('AWS::SQS::QueuePolicy');
    expect(policies).toHaveLength(2);
    for (const [, policy] of policies) {
      expect(policyStatements(policy)).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });
});

describe('the functions', () => {
  const cases = [
    { name: 'planner', timeout: 60, memory: 256 },
    { name: 'worker', timeout: 300, memory: 1024 },
    { name: 'sweep', timeout: 300, memory: 256 },
    { name: 'renew', timeout: 300, memory: 256 },
  ] as const;

  it.each(cases)(
    'the $name runs Node.js 22 on ARM64 with tracing and its own log group',
    ({ name, timeout, memory }) => {
      const fn = certloop()[name];
      const props = q.resource(fn).Properties;
      expect(props?.Runtime).toBe('nodejs22.x');
      expect(props?.Architectures).toEqual(['arm64']);
      expect(props?.TracingConfig).toEqual({ Mode: 'Active' });
      expect(props?.Timeout).toBe(timeout);
      expect(props?.MemorySize).toBe(memory);
      const loggingConfig = props?.LoggingConfig as { LogGroup: { Ref: string } } | undefined;
      const logGroupRef = loggingConfig?.LogGroup.Ref ?? 'missing';
      expect(q.resources[logGroupRef]?.Properties).toEqual({
        RetentionInDays: 90,
        KmsKeyId: { 'Fn::GetAtt': [q.logicalId(certloop().key), 'Arn'] },
      });
    },
  );

  it('deploys planner, worker, sweep and renew without STEK sets', () => {
    expect(q.ofType('AWS::Lambda::Function')).toHaveLength(4);
    expect(certloop().rotateStek).toBeUndefined();
    expect(Object.values(FUNCTION_ENTRIES).map((entry) => basename(entry))).toEqual([
      'planner.ts',
      'worker.ts',
      'sweep.ts',
      'renew.ts',
      'rotate-stek.ts',
    ]);
    for (const [, fn] of q.ofType('AWS::Lambda::Function')) {
      expect(fn.Properties?.Handler).toBe('index.handler');
    }
  });

  it('the planner gets the table, the queue, the issuers (which exempt replacing renewals), the rotation target and the order budget, named by ENV', () => {
    expect(q.environment(certloop().planner)).toEqual({
      [ENV.tableName]: { Ref: q.logicalId(certloop().records.table) },
      [ENV.queueUrl]: { Ref: q.logicalId(certloop().workQueue.queue) },
      [ENV.issuers]: JSON.stringify({
        default: { directoryUrl: 'https://acme-staging-v02.api.letsencrypt.org/directory' },
      }),
      [ENV.defaultIssuer]: 'default',
      [ENV.rotationBatch]: '30',
      [ENV.budgetOrders]: '300',
      [ENV.budgetWindowHours]: '3',
      [ENV.budgetSlackSeconds]: '600',
    });
  });

  it('the renew function gets the full runtime configuration and the order budget', () => {
    expect(q.environment(certloop().renew)).toEqual({
      ...q.environment(certloop().worker),
      [ENV.budgetOrders]: '300',
      [ENV.budgetWindowHours]: '3',
      [ENV.budgetSlackSeconds]: '600',
    });
  });

  it.each(['worker', 'sweep'] as const)('the %s gets the full runtime configuration', (name) => {
    const environment = q.environment(certloop()[name]);
    expect(environment).toEqual({
      [ENV.tableName]: { Ref: q.logicalId(certloop().records.table) },
      [ENV.secretStore]: 'secrets-manager',
      [ENV.accountKeyPrefix]: DEFAULT_ACCOUNT_KEY_PREFIX,
      [ENV.dns]: 'route53',
      [ENV.hostedZones]: JSON.stringify([TEST_ZONE]),
      [ENV.issuers]: JSON.stringify({
        default: { directoryUrl: 'https://acme-staging-v02.api.letsencrypt.org/directory' },
      }),
    });
  });

  it('the worker consumes the queue in batches of 10 with partial failures and max concurrency 5', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: q.logicalId(certloop().worker) },
      EventSourceArn: { 'Fn::GetAtt': [q.logicalId(certloop().workQueue.queue), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });
});

describe('the schedules and the tag-change rule', () => {
  const targetOf = (fnId: string) => [
    Match.objectLike({
      Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
      RetryPolicy: { MaximumRetryAttempts: 2 },
    }),
  ];

  it('runs the planner every 5 minutes and the sweep every hour', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: targetOf(q.logicalId(certloop().planner)),
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: targetOf(q.logicalId(certloop().sweep)),
    });
  });

  it('runs the sweep when a certloop: tag of a secret changes', () => {
    expect(q.resource(certloop().tagChangeRule).Properties?.EventPattern).toEqual({
      source: ['aws.tag'],
      'detail-type': ['Tag Change on Resource'],
      detail: {
        service: ['secretsmanager'],
        'resource-type': ['secret'],
        'changed-tag-keys': [{ prefix: 'certloop:' }],
      },
    });
    expect(q.resource(certloop().tagChangeRule).Properties?.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [q.logicalId(certloop().sweep), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2 },
      }),
    ]);
  });

  it('lets EventBridge invoke exactly the planner (once) and the sweep (twice), never renew', () => {
    const permissions = q
      .ofType('AWS::Lambda::Permission')
      .map(([, p]) => p.Properties as { FunctionName: unknown; Principal: string });
    expect(permissions.every((p) => p.Principal === 'events.amazonaws.com')).toBe(true);
    const invoked = permissions.map((p) => JSON.stringify(p.FunctionName));
    const count = (id: string) => invoked.filter((f) => f.includes(`"${id}"`)).length;
    expect(count(q.logicalId(certloop().planner))).toBe(1);
    expect(count(q.logicalId(certloop().sweep))).toBe(2);
    expect(count(q.logicalId(certloop().worker))).toBe(0);
    expect(count(q.logicalId(certloop().renew))).toBe(0);
  });
});

describe('least privilege', () => {
  const secretArn = (suffix: string) => ({
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':secretsmanager:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:secret:${suffix}`,
      ],
    ],
  });

  it('the worker writes only secrets that carry the certloop:domains tag', () => {
    expect(q.statements(certloop().worker)).toContainEqual({
      Sid: 'WriteRegisteredCertificateSecrets',
      Effect: 'Allow',
      Action: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:ListSecretVersionIds',
      ],
      Resource: secretArn('*'),
      Condition: { Null: { [`aws:ResourceTag/${REGISTRATION_TAG_KEY}`]: 'false' } },
    });
  });

  it('the worker creates and reads account keys under the prefix only, tagged as such', () => {
    const statements = q.statements(certloop().worker);
    expect(statements).toContainEqual({
      Sid: 'ReadAcmeAccountKeys',
      Effect: 'Allow',
      Action: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ],
      Resource: secretArn(`${DEFAULT_ACCOUNT_KEY_PREFIX}*`),
    });
    expect(statements).toContainEqual({
      Sid: 'CreateAcmeAccountKeys',
      Effect: 'Allow',
      Action: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
      Resource: secretArn(`${DEFAULT_ACCOUNT_KEY_PREFIX}*`),
      Condition: {
        StringEquals: { 'aws:RequestTag/certloop:role': 'acme-account-key' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['certloop:role'] },
      },
    });
  });

  it('no statement anywhere writes secrets without the tag condition or the account-key prefix', () => {
    const writes = ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'];
    for (const fn of [certloop().planner, certloop().worker, certloop().sweep, certloop().renew]) {
      for (const statement of q.statements(fn)) {
        if (!actionsOf(statement).some((action) => writes.includes(action))) continue;
        const tagged = statement.Condition?.Null?.[`aws:ResourceTag/${REGISTRATION_TAG_KEY}`];
        const prefixed = JSON.stringify(statement.Resource).includes(
          `:secret:${DEFAULT_ACCOUNT_KEY_PREFIX}*`,
        );
        expect(tagged === 'false' || prefixed, JSON.stringify(statement)).toBe(true);
      }
    }
  });

  it('the worker changes only _acme-challenge TXT records, only in the configured zone', () => {
    expect(q.statements(certloop().worker)).toContainEqual({
      Sid: 'WriteAcmeChallengeRecords',
      Effect: 'Allow',
      Action: 'route53:ChangeResourceRecordSets',
      Resource: {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, `:route53:::hostedzone/${TEST_ZONE.hostedZoneId}`],
        ],
      },
      Condition: {
        'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
        'ForAllValues:StringLike': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.*'],
        },
      },
    });
    const route53 = q
      .statements(certloop().worker)
      .filter((s) => actionsOf(s).some((a) => a.startsWith('route53:')));
    expect(route53.map((s) => [s.Action, JSON.stringify(s.Resource)])).toEqual([
      ['route53:ChangeResourceRecordSets', expect.stringContaining(TEST_ZONE.hostedZoneId)],
      ['route53:ListResourceRecordSets', expect.stringContaining(TEST_ZONE.hostedZoneId)],
      ['route53:GetChange', expect.stringContaining(':route53:::change/*')],
    ]);
    expect(q.actions(certloop().worker)).not.toContain('sts:AssumeRole');
  });

  it('the planner and the sweep touch neither Route 53 nor secret values', () => {
    for (const fn of [certloop().planner, certloop().sweep]) {
      const actions = q.actions(fn);
      expect(actions.filter((a) => a.startsWith('route53:') || a.startsWith('sts:'))).toEqual([]);
      expect(actions).not.toContain('secretsmanager:GetSecretValue');
      expect(actions).not.toContain('secretsmanager:PutSecretValue');
    }
    expect(q.actions(certloop().sweep)).toContain('secretsmanager:ListSecrets');
    expect(q.actions(certloop().planner)).toEqual(
      expect.arrayContaining(['dynamodb:Query', 'sqs:SendMessage']),
    );
    expect(q.actions(certloop().planner)).not.toContain('dynamodb:UpdateItem');
  });

  it('the planner lists, reads and puts records and control documents for the issuer rotation', () => {
    const tableArn = { 'Fn::GetAtt': [q.logicalId(certloop().records.table), 'Arn'] };
    const statements = q.statements(certloop().planner);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'dynamodb:Scan',
      Resource: tableArn,
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      Resource: tableArn,
    });
  });

  it('the renew function scans, gets and puts table items only: no secret, no Route 53', () => {
    const tableArn = { 'Fn::GetAtt': [q.logicalId(certloop().records.table), 'Arn'] };
    const statements = q.statements(certloop().renew);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'dynamodb:Scan',
      Resource: tableArn,
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      Resource: tableArn,
    });
    const actions = q.actions(certloop().renew);
    expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Scan',
    ]);
    expect(
      actions.filter(
        (a) =>
          a.startsWith('secretsmanager:') ||
          a.startsWith('route53:') ||
          a.startsWith('sts:') ||
          a.startsWith('sqs:'),
      ),
    ).toEqual([]);
    for (const statement of statements.filter((s) =>
      actionsOf(s).some((a) => a.startsWith('kms:')),
    )) {
      expect(statement.Resource).toEqual({ 'Fn::GetAtt': [q.logicalId(certloop().key), 'Arn'] });
      expect(JSON.stringify(statement.Condition)).toContain('dynamodb.');
    }
  });

  it('table KMS use goes through DynamoDB only; no KMS grant for secrets by default', () => {
    const kms = q
      .statements(certloop().worker)
      .filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
    for (const statement of kms) {
      expect(statement.Resource).toEqual({
        'Fn::GetAtt': [q.logicalId(certloop().key), 'Arn'],
      });
    }
    expect(JSON.stringify(kms)).not.toContain('secretsmanager.');
  });

  it('no role carries a managed policy', () => {
    for (const [, role] of q.ofType('AWS::IAM::Role')) {
      expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('alarms and notices', () => {
  const topicRef = () => ({ Ref: q.logicalId(certloop().monitoring.topic) });
  const dimensions = Object.entries(METRIC_DIMENSIONS).map(([Name, Value]) => ({ Name, Value }));

  it('alarms when one certificate or more is at risk for its lifetime (maximum over one hour), keeping its state between sweeps', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS.namespace,
      MetricName: METRICS.certificatesAtRisk,
      Dimensions: dimensions,
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'ignore',
      AlarmActions: [topicRef()],
      OKActions: [topicRef()],
    });
    expect(q.resource(certloop().monitoring.expiryAlarm).Properties?.MetricName).toBe(
      METRICS.certificatesAtRisk,
    );
  });

  it('has no alarm on the fewest days to expiry: a 160-hour certificate always has under 14 days left', () => {
    const alarms = q.ofType('AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(0);
    for (const [, alarm] of alarms) {
      expect(JSON.stringify(alarm.Properties)).not.toContain(METRICS.minDaysToExpiry);
    }
  });

  it('alarms on any message in the dead-letter queue', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: {
            'Fn::GetAtt': [q.logicalId(certloop().workQueue.deadLetterQueue), 'QueueName'],
          },
        },
      ],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [topicRef()],
    });
  });

  it('alarms on 3 or more failures within one hour', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS.namespace,
      MetricName: METRICS.failed,
      Dimensions: dimensions,
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [topicRef()],
    });
  });

  it("alarms when an issuer's ACME account cannot be set up (any in one hour), saying what to fix", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS.namespace,
      MetricName: METRICS.accountErrors,
      Dimensions: dimensions,
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
      AlarmDescription: Match.stringLikeRegexp('EAB key id.*HMAC key secret.*directory URL'),
    });
  });

  it('alarms on worker errors', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: q.logicalId(certloop().worker) } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [topicRef()],
    });
  });

  it('sends every alarm and its recovery to the topic', () => {
    const alarms = q.ofType('AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(7);
    expect(certloop().monitoring.stekErrorAlarm).toBeUndefined();
    for (const [, alarm] of alarms) {
      expect(alarm.Properties?.AlarmActions).toEqual([topicRef()]);
      expect(alarm.Properties?.OKActions).toEqual([topicRef()]);
    }
  });

  it('encrypts the topic, requires TLS and lets only this account’s alarms publish', () => {
    expect(q.resource(certloop().monitoring.topic).Properties?.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [q.logicalId(certloop().key), 'Arn'],
    });
    const [[, policy] = ['', undefined]] = q.ofType('AWS::SNS::TopicPolicy');
    const statements = policyStatements(policy);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Sid: 'AllowAlarmsOfThisAccount',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
      }),
    );
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('shows the metrics on a dashboard, the planner backlog among them', () => {
    const [[, dashboard] = ['', undefined]] = q.ofType('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard?.Properties?.DashboardBody);
    for (const name of [
      METRICS.certificatesAtRisk,
      METRICS.minDaysToExpiry,
      METRICS.failed,
      METRICS.issued,
      METRICS.dueBacklog,
      METRICS.heldByBudget,
      METRICS.oldestDueSeconds,
      METRICS.accountErrors,
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(name);
    }
  });

  describe('the metric dimensions', () => {
    afterEach(() => vi.restoreAllMocks());

    it('are the ones the functions emit through the Powertools adapter', () => {
      const lines: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
        lines.push(String(chunk));
        return true;
      });
      const metrics = new EmfMetrics();
      metrics.gauge(METRICS.certificatesAtRisk, 0, 'Count');
      metrics.flush();
      const emf = lines
        .flatMap((line) => line.split('\n'))
        .filter((line) => line.includes('_aws'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(emf).toHaveLength(1);
      const [document] = emf;
      const aws = document?._aws as
        | { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][] }> }
        | undefined;
      const directive = aws?.CloudWatchMetrics[0];
      expect(directive?.Namespace).toBe(METRICS.namespace);
      expect(directive?.Dimensions).toEqual([Object.keys(METRIC_DIMENSIONS)]);
      for (const [name, value] of Object.entries(METRIC_DIMENSIONS)) {
        expect(document?.[name]).toBe(value);
      }
    });
  });
});

describe('the outputs', () => {
  it('name the table, the queues, each function, the topic and the dashboard', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'DashboardName',
        'DeadLetterQueueUrl',
        'NoticeTopicArn',
        'PlannerFunctionName',
        'QueueUrl',
        'RenewFunctionName',
        'SweepFunctionName',
        'TableName',
        'WorkerFunctionName',
      ].sort(),
    );
    expect(outputs.WorkerFunctionName?.Value).toEqual({ Ref: q.logicalId(certloop().worker) });
    expect(outputs.RenewFunctionName?.Value).toEqual({ Ref: q.logicalId(certloop().renew) });
    expect(outputs.TableName?.Value).toEqual({ Ref: q.logicalId(certloop().records.table) });
  });
});

describe('ACM import (acmImport)', () => {
  const functions = (stack: Built['stack']) => [
    stack.certloop.planner,
    stack.certloop.worker,
    stack.certloop.sweep,
    stack.certloop.renew,
  ];

  it('is off by default: no function may touch ACM, and none is told imports are on', () => {
    for (const fn of functions(built.stack)) {
      expect(q.actions(fn).filter((a) => a.startsWith('acm:'))).toEqual([]);
      expect(q.environment(fn)).not.toHaveProperty(ENV.acmImport);
    }
  });

  it('on (-c acmImport=true): the worker imports into and tags only this account’s certificates; sweep and renew accept the tag', () => {
    const { stack } = buildCertLoopApp(
      { hostedZones: JSON.stringify([TEST_ZONE]), acmImport: 'true' },
      { bundle: false },
    );
    const queries = new TemplateQueries(stack, Template.fromStack(stack).toJSON());
    const certificates = [
      {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':acm:*:',
            { Ref: 'AWS::AccountId' },
            ':certificate/*',
          ],
        ],
      },
    ];
    const statements = queries.statements(stack.certloop.worker);
    expect(statements).toContainEqual({
      Sid: 'ImportCertificatesIntoAcm',
      Effect: 'Allow',
      Action: 'acm:ImportCertificate',
      Resource: certificates[0],
    });
    expect(statements).toContainEqual({
      Sid: 'TagNewAcmImports',
      Effect: 'Allow',
      Action: 'acm:AddTagsToCertificate',
      Resource: certificates[0],
      Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['certloop:secret'] } },
    });
    expect(
      queries
        .actions(stack.certloop.worker)
        .filter((a) => a.startsWith('acm:'))
        .sort(),
    ).toEqual(['acm:AddTagsToCertificate', 'acm:ImportCertificate']);
    for (const fn of [stack.certloop.worker, stack.certloop.sweep, stack.certloop.renew]) {
      expect(queries.environment(fn)[ENV.acmImport]).toBe('true');
    }
    for (const fn of [stack.certloop.planner, stack.certloop.sweep, stack.certloop.renew]) {
      expect(queries.actions(fn).filter((a) => a.startsWith('acm:'))).toEqual([]);
    }
    expect(queries.environment(stack.certloop.planner)).not.toHaveProperty(ENV.acmImport);
  });

  it('refuses a context value that is neither true nor false', () => {
    expect(() => buildCertLoopApp({ acmImport: 'yes' }, { bundle: false })).toThrow(
      'CDK context "acmImport": must be true or false, not "yes"',
    );
  });
});

describe('the app context', () => {
  it('cdk.json holds the documented defaults', () => {
    expect(cdkJsonContext()).toEqual(CONTEXT_DEFAULTS);
  });

  it('without hosted zones, grants no Route 53 access at all and warns', () => {
    const { stack } = buildCertLoopApp({}, { bundle: false });
    const queries = new TemplateQueries(stack, Template.fromStack(stack).toJSON());
    for (const fn of [
      stack.certloop.planner,
      stack.certloop.worker,
      stack.certloop.sweep,
      stack.certloop.renew,
    ]) {
      expect(
        queries.actions(fn).filter((a) => a.startsWith('route53:') || a.startsWith('sts:')),
      ).toEqual([]);
    }
    expect(queries.environment(stack.certloop.worker)[ENV.hostedZones]).toBe('[]');
    Annotations.fromStack(stack).hasWarning(
      '/CertLoop/CertLoop/Zones',
      Match.stringLikeRegexp('No hosted zones are configured'),
    );
  });

  it('takes -c values as strings: zones with a role, suffixes, schedules, concurrency, KMS keys', () => {
    const roleArn = 'arn:aws:iam::210987654321:role/dns';
    const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/abcd-1234';
    const { stack } = buildCertLoopApp(
      {
        hostedZones: JSON.stringify([
          TEST_ZONE,
          { hostedZoneId: 'ZROLE', domain: 'b.example', roleArn },
        ]),
        allowedSuffixes: 'example.com,b.example',
        plannerSchedule: 'cron(0/15 * * * ? *)',
        sweepSchedule: 'rate(2 hours)',
        workerMaxConcurrency: '3',
        logRetentionDays: '30',
        contactEmail: 'ops@example.com',
        notificationEmail: 'ops@example.com',
        secretEncryptionKeyArns: JSON.stringify([keyArn]),
      },
      { bundle: false },
    );
    const t = Template.fromStack(stack);
    const queries = new TemplateQueries(stack, t.toJSON());
    const worker = stack.certloop.worker;
    expect(queries.environment(worker)[ENV.allowedSuffixes]).toBe('example.com b.example');
    expect(JSON.parse(queries.environment(worker)[ENV.issuers] as string)).toEqual({
      default: {
        directoryUrl: 'https://acme-staging-v02.api.letsencrypt.org/directory',
        contactEmail: 'ops@example.com',
      },
    });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0/15 * * * ? *)' });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(2 hours)' });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 3 },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    const statements = queries.statements(worker);
    expect(statements).toContainEqual({
      Sid: 'AssumeCrossAccountZoneRoles',
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: roleArn,
    });
    // The zone behind a role is changed by that role, not by the worker's own.
    const change = statements.find((s) => s.Sid === 'WriteAcmeChallengeRecords');
    expect(JSON.stringify(change?.Resource)).not.toContain('ZROLE');
    expect(statements).toContainEqual({
      Sid: 'UseSecretKeysThroughSecretsManager',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: keyArn,
      Condition: {
        StringEquals: {
          'kms:ViaService': {
            'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
          },
        },
      },
    });
  });

  it.each([
    [{ hostedZones: '[{"hostedZoneId":"Z1"}]' }, /hostedZones.*entry 0/],
    [{ hostedZones: 'Z1 example.com' }, /hostedZones.*JSON list/],
    [{ workerMaxConcurrency: '1' }, /workerMaxConcurrency must be a whole number from 2 to 1000/],
    [{ workerMaxConcurrency: 'many' }, /workerMaxConcurrency.*not a whole number/],
    [{ plannerSchedule: 'every 5 minutes' }, /plannerSchedule.*rate\(\.\.\.\) or cron/],
    [{ logRetentionDays: '42' }, /logRetentionDays.*42 is not a CloudWatch Logs retention/],
    [{ orderBudget: '{"order":10}' }, /orderBudget.*unknown field "order"/],
    [{ orderBudget: '{"orders":"ten"}' }, /orderBudget.*"orders" must be a whole number/],
    [{ orderBudget: '[300]' }, /orderBudget.*must be a JSON object/],
    [{ rotationBatch: 'lots' }, /rotationBatch.*not a whole number/],
    [{ stekSets: '{"set":"a"}' }, /StekSets: .* is neither a secret name/],
    [{ stekSchedule: 'hourly' }, /stekSchedule.*rate\(\.\.\.\) or cron/],
  ])('rejects bad context %j before anything is built', (context, message) => {
    expect(() => buildCertLoopApp(context, { bundle: false })).toThrow(message);
  });

  it.each([
    [
      { hostedZones: JSON.stringify([{ hostedZoneId: 'not a zone', domain: 'example.com' }]) },
      /CERTLOOP_HOSTED_ZONES/,
    ],
    [
      { hostedZones: JSON.stringify([TEST_ZONE]), acmeDirectoryUrl: 'ftp://ca.example' },
      /CERTLOOP_ISSUERS/,
    ],
    [
      { hostedZones: JSON.stringify([TEST_ZONE]), allowedSuffixes: 'com' },
      /CERTLOOP_ALLOWED_SUFFIXES/,
    ],
    [{ orderBudget: '{"orders":0}' }, /CERTLOOP_BUDGET_ORDERS/],
    [{ orderBudget: JSON.stringify({ windowHours: 200 }) }, /CERTLOOP_BUDGET_WINDOW_HOURS/],
    [{ rotationBatch: '5000' }, /CERTLOOP_ROTATION_BATCH/],
    [{ stekSets: '["tls/web","tls/web"]' }, /CERTLOOP_STEK_SETS.*twice/],
    [{ stekSets: '["not a name"]' }, /StekSets: "not a name"/],
  ])('fails synth with the cold-start message for %j', (context, message) => {
    expect(() => buildCertLoopApp(context, { bundle: false })).toThrow(message);
  });
});

describe('the STEK rotation', () => {
  const STEK_SET = 'certloop/stek/web';
  const STEK_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tls/tickets-AbCdEf';
  let stekBuilt: Built;
  let t: Template;
  let sq: TemplateQueries;
  const stek = () => {
    const fn = stekBuilt.stack.certloop.rotateStek;
    if (!fn) throw new Error('no STEK function');
    return fn;
  };

  beforeAll(() => {
    stekBuilt = buildCertLoopApp(
      {
        hostedZones: JSON.stringify([TEST_ZONE]),
        stekSets: JSON.stringify([STEK_SET, STEK_ARN]),
        stekSchedule: 'rate(30 minutes)',
      },
      { bundle: false },
    );
    t = Template.fromStack(stekBuilt.stack);
    sq = new TemplateQueries(stekBuilt.stack, t.toJSON());
  });

  it('deploys a fifth function, Node.js 22 on ARM64, with the sets and the table', () => {
    expect(sq.ofType('AWS::Lambda::Function')).toHaveLength(5);
    const props = sq.resource(stek()).Properties;
    expect(props?.Runtime).toBe('nodejs22.x');
    expect(props?.Architectures).toEqual(['arm64']);
    expect(props?.Timeout).toBe(60);
    expect(sq.environment(stek())).toEqual({
      [STEK_ENV.sets]: JSON.stringify([STEK_SET, STEK_ARN]),
      [STEK_ENV.store]: 'secrets-manager',
      [STEK_ENV.tableName]: { Ref: sq.logicalId(stekBuilt.stack.certloop.records.table) },
    });
  });

  it('runs on its schedule with retries', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(30 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [sq.logicalId(stek()), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2 },
        }),
      ],
    });
  });

  it('reads and writes only secrets tagged certloop:stek, and creates only the named sets', () => {
    const anySecret = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':secret:*',
        ],
      ],
    };
    const namedSet = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          `:secret:${STEK_SET}-??????`,
        ],
      ],
    };
    const statements = sq.statements(stek());
    expect(statements).toContainEqual({
      Sid: 'RotateTaggedStekSets',
      Effect: 'Allow',
      Action: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ],
      Resource: anySecret,
      Condition: { Null: { [`aws:ResourceTag/${STEK_TAG_KEY}`]: 'false' } },
    });
    expect(statements).toContainEqual({
      Sid: 'FindStekSetsByName',
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      Resource: namedSet,
    });
    expect(statements).toContainEqual({
      Sid: 'CreateStekSets',
      Effect: 'Allow',
      Action: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
      Resource: namedSet,
      Condition: {
        StringEquals: { [`aws:RequestTag/${STEK_TAG_KEY}`]: [STEK_SET] },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [STEK_TAG_KEY] },
      },
    });
    // Writes and creation happen only under those statements.
    const secretStatements = statements.filter((s) =>
      actionsOf(s).some((a) => a.startsWith('secretsmanager:')),
    );
    expect(secretStatements.map((s) => s.Sid).sort()).toEqual(
      ['CreateStekSets', 'FindStekSetsByName', 'RotateTaggedStekSets'].sort(),
    );
    expect(
      sq.actions(stek()).filter((a) => a.startsWith('route53:') || a.startsWith('sts:')),
    ).toEqual([]);
  });

  it('updates only the lease items of its sets in the table', () => {
    const dynamodb = sq
      .statements(stek())
      .filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamodb).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: { 'Fn::GetAtt': [sq.logicalId(stekBuilt.stack.certloop.records.table), 'Arn'] },
        Condition: {
          'ForAllValues:StringEquals': {
            'dynamodb:LeadingKeys': [`stek#${STEK_SET}`, `stek#${STEK_ARN}`],
          },
        },
      },
    ]);
  });

  it('alarms on its errors to the notice topic', () => {
    const topicRef = { Ref: sq.logicalId(stekBuilt.stack.certloop.monitoring.topic) };
    expect(stekBuilt.stack.certloop.monitoring.stekErrorAlarm).toBeDefined();
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: sq.logicalId(stek()) } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [topicRef],
      OKActions: [topicRef],
    });
    expect(sq.ofType('AWS::CloudWatch::Alarm')).toHaveLength(8);
  });

  it('names the function in the outputs', () => {
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.StekFunctionName?.Value).toEqual({ Ref: sq.logicalId(stek()) });
  });

  it('without sets, has no STEK function, schedule, alarm or output', () => {
    expect(certloop().rotateStek).toBeUndefined();
    const outputs = template.toJSON().Outputs as Record<string, unknown>;
    expect(outputs.StekFunctionName).toBeUndefined();
    // Planner, sweep and tag-change schedules; the two certloop-event rules (notifyOn).
    const rules = q
      .ofType('AWS::Events::Rule')
      .filter(
        ([, rule]) => !JSON.stringify(rule.Properties?.EventPattern ?? {}).includes('"certloop"'),
      );
    expect(rules).toHaveLength(3);
    expect(JSON.stringify(template.toJSON())).not.toContain(STEK_ENV.sets);
  });
});

describe('the renewal budget and issuer rotation from context', () => {
  it('takes -c values as strings', () => {
    const { stack } = buildCertLoopApp(
      {
        hostedZones: JSON.stringify([TEST_ZONE]),
        orderBudget: JSON.stringify({ orders: 50, slackSeconds: 900 }),
        rotationBatch: '10',
      },
      { bundle: false },
    );
    const queries = new TemplateQueries(stack, Template.fromStack(stack).toJSON());
    const budget = {
      [ENV.budgetOrders]: '50',
      [ENV.budgetWindowHours]: '3',
      [ENV.budgetSlackSeconds]: '900',
    };
    // Renew spreads forced renewals over it; the planner admits due work within it.
    expect(queries.environment(stack.certloop.renew)).toMatchObject(budget);
    expect(queries.environment(stack.certloop.planner)).toMatchObject(budget);
    expect(queries.environment(stack.certloop.planner)[ENV.rotationBatch]).toBe('10');
  });
});
