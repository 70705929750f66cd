import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../src/config/environment.js';
import { STEK_ENV } from '../../src/config/stek-environment.js';
import { buildEmbeddingApp, EMBEDDED } from './fixtures/embedding-app.js';
import { TemplateQueries } from './fixtures/template-queries.js';

type Built = ReturnType<typeof buildEmbeddingApp>;

let built: Built;
let template: Template;
let q: TemplateQueries;

beforeAll(() => {
  built = buildEmbeddingApp();
  // The whole app synthesizes (bundling included), not only the stack.
  built.app.synth();
  template = Template.fromStack(built.stack);
  q = new TemplateQueries(built.stack, template.toJSON());
});

describe('CertLoop embedded in another app', () => {
  it('lives under the embedding stack with its own construct id', () => {
    expect(built.stack.certloop.node.path).toBe('Platform/Certificates');
    expect(q.ofType('AWS::Lambda::Function')).toHaveLength(5);
  });

  it('spreads forced renewals over its own order budget', () => {
    expect(q.environment(built.stack.certloop.renew)).toMatchObject({
      [ENV.budgetOrders]: `${EMBEDDED.orderBudget.orders}`,
      [ENV.budgetWindowHours]: `${EMBEDDED.orderBudget.windowHours}`,
      [ENV.budgetSlackSeconds]: `${EMBEDDED.orderBudget.slackSeconds}`,
      [ENV.defaultIssuer]: 'production',
    });
  });

  it('moves records to the production issuer, 10 per planner run, within its order budget', () => {
    expect(q.environment(built.stack.certloop.planner)).toMatchObject({
      [ENV.defaultIssuer]: 'production',
      [ENV.rotationBatch]: `${EMBEDDED.rotationBatch}`,
      [ENV.budgetOrders]: `${EMBEDDED.orderBudget.orders}`,
      [ENV.budgetWindowHours]: `${EMBEDDED.orderBudget.windowHours}`,
      [ENV.budgetSlackSeconds]: `${EMBEDDED.orderBudget.slackSeconds}`,
    });
  });

  it('rotates both STEK sets every 6 hours of key life, hourly, with an errors alarm', () => {
    const stek = built.stack.certloop.rotateStek;
    if (!stek) throw new Error('no STEK function');
    expect(q.environment(stek)).toMatchObject({
      [STEK_ENV.sets]: JSON.stringify(EMBEDDED.stekSets),
      [STEK_ENV.periodHours]: `${EMBEDDED.stekPeriodHours}`,
    });
    expect(q.environment(stek)[STEK_ENV.retentionHours]).toBeUndefined();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [q.logicalId(stek), 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: q.logicalId(stek) } }],
    });
  });

  it('hands both zones, the issuers and the default issuer to the worker', () => {
    const environment = q.environment(built.stack.certloop.worker);
    expect(JSON.parse(environment[ENV.hostedZones] as string)).toEqual(EMBEDDED.zones);
    expect(Object.keys(JSON.parse(environment[ENV.issuers] as string))).toEqual([
      'staging',
      'production',
    ]);
    expect(environment[ENV.defaultIssuer]).toBe('production');
    expect(environment[ENV.allowedSuffixes]).toBe('example.org partner.example.net');
  });

  it('changes the own zone directly and assumes the role of the cross-account zone', () => {
    const statements = q.statements(built.stack.certloop.worker);
    const change = statements.find((s) => s.Sid === 'WriteAcmeChallengeRecords');
    const [own, crossAccount] = EMBEDDED.zones;
    expect(JSON.stringify(change?.Resource)).toContain(`hostedzone/${own.hostedZoneId}`);
    expect(JSON.stringify(change?.Resource)).not.toContain(crossAccount.hostedZoneId);
    expect(statements).toContainEqual({
      Sid: 'AssumeCrossAccountZoneRoles',
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: crossAccount.roleArn,
    });
  });

  it('uses the custom schedules and a worker concurrency of 2', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(*/10 * * * ? *)',
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(30 minutes)' });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: EMBEDDED.maxConcurrency },
    });
  });

  it('subscribes the notification email and keeps logs for a month', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: EMBEDDED.notificationEmail,
    });
    for (const [, group] of q.ofType('AWS::Logs::LogGroup')) {
      expect(group.Properties?.RetentionInDays).toBe(30);
    }
  });

  it('lets the worker use the listed secret key through Secrets Manager only', () => {
    expect(q.statements(built.stack.certloop.worker)).toContainEqual({
      Sid: 'UseSecretKeysThroughSecretsManager',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: EMBEDDED.secretKeyArn,
      Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
    });
  });
});
