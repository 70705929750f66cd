import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../../src/config/metrics.js';

/**
 * The dimensions the functions' metrics carry. Powertools Metrics adds `service` with the
 * service name that `src/adapters/logging/powertools-metrics.ts` configures; a CloudWatch
 * metric is found only with all its dimensions. A test emits a metric through that
 * adapter and compares its dimensions with these.
 */
export const METRIC_DIMENSIONS: Readonly<Record<string, string>> = { service: 'certloop' };

export interface MonitoringProps {
  /** Customer-managed key the notice topic is encrypted with. */
  readonly encryptionKey: kms.Key;
  /** The functions whose errors raise an alarm. */
  readonly functions: {
    planner: lambda.IFunction;
    worker: lambda.IFunction;
    sweep: lambda.IFunction;
    /** The STEK rotation function, when STEK sets are configured. */
    stek?: lambda.IFunction;
  };
  /** The dead-letter queue of the work queue. */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * An email address subscribed to the notice topic (it must confirm the subscription).
   * @default - no subscription
   */
  readonly notificationEmail?: string;
  /**
   * Where the reference line of the "fewest days to expiry" graph is drawn. No alarm uses
   * it: the expiry alarm counts certificates at risk for their own lifetime
   * (`CertificatesAtRisk`), whose near-expiry rule is min(14 days, a third of the lifetime).
   * @default 14
   */
  readonly expiryAlarmDays?: number;
  /**
   * Alarm when at least this many certificate attempts fail within one hour.
   * @default 3
   */
  readonly failureAlarmThreshold?: number;
}

/**
 * Observability: an SNS topic for notices (KMS-encrypted, TLS-only), alarms that publish
 * to it (a certificate at risk for its lifetime, dead letters, repeated failures, an
 * issuer account that cannot be set up, function errors) and a dashboard. Let's Encrypt
 * no longer emails about expiry: these alarms are the expiry warning.
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly expiryAlarm: cloudwatch.Alarm;
  readonly deadLetterAlarm: cloudwatch.Alarm;
  readonly failureAlarm: cloudwatch.Alarm;
  /** Records deferred because their issuer's ACME account could not be set up. */
  readonly accountErrorAlarm: cloudwatch.Alarm;
  readonly errorAlarms: Record<'planner' | 'worker' | 'sweep', cloudwatch.Alarm>;
  /** Errors of the STEK rotation function (any set that failed fails the invocation). */
  readonly stekErrorAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const expiryDays = props.expiryAlarmDays ?? 14;
    const failures = props.failureAlarmThreshold ?? 3;
    const stack = Stack.of(this);

    this.topic = new sns.Topic(this, 'Notices', {
      displayName: 'certloop notices',
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    // CloudWatch alarms publish as the cloudwatch.amazonaws.com service: the topic policy
    // (which enforceSSL replaces the default one with) and the key policy must let it.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*`,
          },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAlarmsToPublishEncryptedNotices',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
      }),
    );
    if (props.notificationEmail) {
      this.topic.addSubscription(new EmailSubscription(props.notificationEmail));
    }
    const notify = new SnsAction(this.topic);

    const metric = (metricName: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: METRICS.namespace,
        metricName,
        dimensionsMap: { ...METRIC_DIMENSIONS },
        statistic,
        period,
      });
    const hour = Duration.hours(1);
    const fiveMinutes = Duration.minutes(5);

    const atRisk = metric(METRICS.certificatesAtRisk, cloudwatch.Stats.MAXIMUM, hour);
    const minDaysToExpiry = metric(METRICS.minDaysToExpiry, cloudwatch.Stats.MINIMUM, hour);
    const failed = metric(METRICS.failed, cloudwatch.Stats.SUM, hour);
    const issued = metric(METRICS.issued, cloudwatch.Stats.SUM, hour);
    const dueBacklog = metric(METRICS.dueBacklog, cloudwatch.Stats.MAXIMUM, fiveMinutes);
    const heldByBudget = metric(METRICS.heldByBudget, cloudwatch.Stats.MAXIMUM, fiveMinutes);
    const oldestDue = metric(METRICS.oldestDueSeconds, cloudwatch.Stats.MAXIMUM, fiveMinutes);
    const invalid = metric(METRICS.invalidRecords, cloudwatch.Stats.MAXIMUM, hour);
    const accountErrors = metric(METRICS.accountErrors, cloudwatch.Stats.SUM, hour);
    const deadLetters = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: fiveMinutes,
    });

    // The sweep reports the count each run (0 included), so the alarm keeps its state
    // between runs rather than clearing on an hour without a data point: it clears when a
    // sweep counts no certificate at risk. A sweep that stops running raises its errors alarm.
    this.expiryAlarm = new cloudwatch.Alarm(this, 'CertificatesAtRisk', {
      alarmDescription:
        'A certloop-managed certificate is at risk for its lifetime: under min(14 days, a third of its lifetime) left, ' +
        'or past its renewal time by more than a sixth of its lifetime. The sweep log ("certificate at risk") names ' +
        "each record and the rule that fired; check the worker logs and the records' last error (certloop status).",
      metric: atRisk,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetters', {
      alarmDescription:
        'A work message reached the certloop dead-letter queue: a record could not be worked on after repeated deliveries.',
      metric: deadLetters,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failureAlarm = new cloudwatch.Alarm(this, 'RepeatedFailures', {
      alarmDescription: `At least ${failures} certificate attempts failed within one hour.`,
      metric: failed,
      threshold: failures,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Waiting does not fix an account the CA refuses: one deferred record is enough.
    this.accountErrorAlarm = new cloudwatch.Alarm(this, 'AccountErrors', {
      alarmDescription:
        "certloop could not set up an issuer's ACME account within the last hour (AccountErrors > 0), so its " +
        'records wait without an order. The worker log names the issuer and what the CA answered. Check that ' +
        'issuer: the EAB key id, the HMAC key secret (JSON {"hmacKey":"<base64url key>"} issued with that key id; ' +
        'a customer-managed KMS key of it listed in secretEncryptionKeyArns) and the directory URL. Then update ' +
        'the secret or redeploy; the records are retried on their own.',
      metric: accountErrors,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const errorAlarm = (name: 'planner' | 'worker' | 'sweep', fn: lambda.IFunction) =>
      new cloudwatch.Alarm(this, `${name[0]?.toUpperCase()}${name.slice(1)}Errors`, {
        alarmDescription: `The certloop ${name} function failed (Errors >= 1 in 5 minutes).`,
        metric: fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: fiveMinutes }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.errorAlarms = {
      planner: errorAlarm('planner', props.functions.planner),
      worker: errorAlarm('worker', props.functions.worker),
      sweep: errorAlarm('sweep', props.functions.sweep),
    };
    if (props.functions.stek) {
      this.stekErrorAlarm = new cloudwatch.Alarm(this, 'StekErrors', {
        alarmDescription:
          'A certloop STEK rotation failed for at least one set (Errors >= 1 in 5 minutes); ' +
          'the function log names the sets. Hosts keep the current ring until it succeeds.',
        metric: props.functions.stek.metricErrors({
          statistic: cloudwatch.Stats.SUM,
          period: fiveMinutes,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    const alarms = [
      this.expiryAlarm,
      this.deadLetterAlarm,
      this.failureAlarm,
      this.accountErrorAlarm,
      ...Object.values(this.errorAlarms),
      ...(this.stekErrorAlarm ? [this.stekErrorAlarm] : []),
    ];
    for (const alarm of alarms) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(7),
    });
    const graph = (title: string, left: cloudwatch.IMetric[], extra = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 12, height: 6, ...extra });
    this.dashboard.addWidgets(
      graph('Certificates at risk for their lifetime', [atRisk], {
        leftAnnotations: [{ value: 1, label: 'alarm', color: '#d62728' }],
      }),
      // No alarm: a 160-hour certificate always has fewer than 14 days left.
      graph('Fewest days to expiry', [minDaysToExpiry], {
        leftAnnotations: [{ value: expiryDays, label: `${expiryDays} days (no alarm)` }],
      }),
    );
    this.dashboard.addWidgets(
      graph('Certificates issued / failed (per hour)', [issued, failed]),
      graph('Dead letters / invalid records', [deadLetters, invalid]),
    );
    this.dashboard.addWidgets(
      // Held: due, but over the CA's order budget for now (admitted by a later plan).
      graph('Due backlog / held by the CA budget (records)', [dueBacklog, heldByBudget]),
      graph('Oldest due record (seconds waited)', [oldestDue]),
    );
    this.dashboard.addWidgets(
      graph("Records waiting on an issuer's ACME account (EAB, directory)", [accountErrors], {
        leftAnnotations: [{ value: 1, label: 'alarm', color: '#d62728' }],
        width: 24,
      }),
    );
    this.dashboard.addWidgets(
      graph(
        'Function errors',
        Object.values(props.functions).flatMap((fn) =>
          fn === undefined
            ? []
            : fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: fiveMinutes }),
        ),
        { width: 24 },
      ),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        width: 24,
        alarms,
      }),
    );
  }
}
