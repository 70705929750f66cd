import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '../../src/config/environment.js';
import { readDeployedIssuers } from '../../src/config/issuer-list.js';
import { readPlannerConfig, readRuntimeConfig } from '../../src/config/runtime-config.js';
import { REGISTRATION_TAG_KEY } from '../../src/config/shared-names.js';
import { readStekConfig, STEK_ENV } from '../../src/config/stek-environment.js';
import { AcmImport } from './acm-import.js';
import { Announcements } from './announcements.js';
import { CertificateSecrets } from './certificate-secrets.js';
import { CertLoopFunction } from './certloop-function.js';
import { CERTLOOP_DEFAULTS, type CertLoopProps } from './certloop-props.js';
import { ChallengeZones } from './challenge-zones.js';
import { Issuers } from './issuers.js';
import { Monitoring } from './monitoring.js';
import { RecordsTable } from './records-table.js';
import { StekSets } from './stek-sets.js';
import { WorkQueue } from './work-queue.js';

export { CERTLOOP_DEFAULTS, type CertLoopProps, type OrderBudgetProps } from './certloop-props.js';

/** Timeouts and memory of the functions. */
export const PLANNER_TIMEOUT = Duration.seconds(60);
export const WORKER_TIMEOUT = Duration.minutes(5);
export const WORKER_MEMORY_MB = 1024;
export const SWEEP_TIMEOUT = Duration.minutes(5);
export const RENEW_TIMEOUT = Duration.minutes(5);
export const STEK_TIMEOUT = Duration.minutes(1);

/** Tag keys whose change triggers the registration sweep: every `certloop:` key. */
export const REGISTRATION_TAG_PREFIX = `${REGISTRATION_TAG_KEY.split(':')[0]}:`;

/**
 * certloop on AWS: TLS certificates issued and renewed through ACME DNS-01, written to
 * the Secrets Manager secrets their owners tagged with `certloop:domains`.
 *
 * A scheduled planner queries the records table for due work and queues it; a worker
 * consumes the queue (max concurrency = the CA rate-limit lever) and issues; a sweep
 * registers tagged secrets on a schedule and within about a minute of a `certloop:*` tag
 * change. A Renew function (manual invoke) forces renewals within the CA's order budget;
 * with STEK sets, a scheduled function rotates their session-ticket keys. Everything is encrypted with one customer-managed key; alarms publish to an
 * SNS topic.
 *
 * ```ts
 * import { CertLoop } from 'certloop'; // in this repository: './infra/index.js'
 * new CertLoop(stack, 'CertLoop', { hostedZones: [{ hostedZoneId: 'Z0123', domain: 'example.com' }] });
 * ```
 */
export class CertLoop extends Construct {
  readonly key: kms.Key;
  readonly records: RecordsTable;
  readonly workQueue: WorkQueue;
  readonly secrets: CertificateSecrets;
  readonly zones: ChallengeZones;
  readonly issuers: Issuers;
  readonly planner: lambda.Function;
  readonly worker: lambda.Function;
  readonly sweep: lambda.Function;
  /** Forced renewals (manual invoke). */
  readonly renew: lambda.Function;
  readonly stekSets: StekSets;
  /** STEK rotation (scheduled); only with `stekSets`. */
  readonly rotateStek?: lambda.Function;
  readonly monitoring: Monitoring;
  /** certloop's events on the default bus, and the rules that forward them to the topic. */
  readonly announcements: Announcements;
  readonly tagChangeRule: events.Rule;
  /** CERTLOOP_BUDGET_* of the Renew function. */
  readonly #budgetEnvironment: Record<string, string>;

  constructor(scope: Construct, id: string, props: CertLoopProps = {}) {
    super(scope, id);
    const maxConcurrency = props.workerMaxConcurrency ?? CERTLOOP_DEFAULTS.workerMaxConcurrency;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) {
      throw new Error(
        `CertLoop: workerMaxConcurrency must be a whole number from 2 to 1000 (an SQS event source limit), not ${maxConcurrency}`,
      );
    }
    const rotationBatch = props.rotationBatch ?? CERTLOOP_DEFAULTS.rotationBatch;
    const budget = { ...CERTLOOP_DEFAULTS.orderBudget, ...props.orderBudget };
    const logRetention = props.logRetention ?? CERTLOOP_DEFAULTS.logRetentionDays;
    const stack = Stack.of(this);

    this.key = new kms.Key(this, 'Key', {
      description: 'certloop: records table, work queues, notice topic and function logs',
      enableKeyRotation: true,
    });
    // CloudWatch Logs encrypts the log groups of this account and region with the key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowLogGroupEncryption',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:DescribeKey',
        ],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
          },
        },
      }),
    );

    this.records = new RecordsTable(this, 'Records', { encryptionKey: this.key });
    this.workQueue = new WorkQueue(this, 'Work', {
      encryptionKey: this.key,
      consumerTimeout: WORKER_TIMEOUT,
    });
    this.secrets = new CertificateSecrets(this, 'Secrets', {
      accountKeyPrefix: props.accountKeyPrefix,
      encryptionKeyArns: props.secretEncryptionKeyArns,
    });
    this.zones = new ChallengeZones(this, 'Zones', {
      zones: props.hostedZones,
      allowedSuffixes: props.allowedSuffixes,
    });
    this.issuers = new Issuers(this, 'Issuers', {
      issuers: props.issuers,
      defaultIssuer: props.defaultIssuer,
    });
    this.stekSets = new StekSets(this, 'Stek', {
      sets: props.stekSets,
      periodHours: props.stekPeriodHours,
      retentionHours: props.stekRetentionHours,
    });
    this.#budgetEnvironment = {
      [ENV.budgetOrders]: `${budget.orders}`,
      [ENV.budgetWindowHours]: `${budget.windowHours}`,
      [ENV.budgetSlackSeconds]: `${budget.slackSeconds}`,
    };
    this.#checkRuntimeConfig(rotationBatch);

    const common = { logRetention, encryptionKey: this.key };
    this.planner = new CertLoopFunction(this, 'Planner', {
      ...common,
      entry: 'planner',
      description: 'certloop planner: queues the certificate records that are due',
      timeout: PLANNER_TIMEOUT,
    }).function;
    this.worker = new CertLoopFunction(this, 'Worker', {
      ...common,
      entry: 'worker',
      description: 'certloop worker: issues and renews queued certificates (ACME DNS-01)',
      timeout: WORKER_TIMEOUT,
      memorySize: WORKER_MEMORY_MB,
    }).function;
    this.sweep = new CertLoopFunction(this, 'Sweep', {
      ...common,
      entry: 'sweep',
      description: 'certloop sweep: registers secrets tagged certloop:domains',
      timeout: SWEEP_TIMEOUT,
    }).function;
    this.renew = new CertLoopFunction(this, 'Renew', {
      ...common,
      entry: 'renew',
      description: 'certloop renew: forces renewals within the order budget (manual invoke)',
      timeout: RENEW_TIMEOUT,
    }).function;
    if (this.stekSets.enabled) {
      this.rotateStek = new CertLoopFunction(this, 'RotateStek', {
        ...common,
        entry: 'rotateStek',
        description: 'certloop STEK rotation: rotates the session-ticket key rings',
        timeout: STEK_TIMEOUT,
      }).function;
    }

    // Planner: due records from the index to the queue.
    this.records.grantFindDue(this.planner);
    this.workQueue.grantSend(this.planner);
    // Planner: one issuer-rotation step per run toward the default issuer.
    this.records.grantList(this.planner);
    this.records.grantReadPut(this.planner);
    this.issuers.configureRotation(this.planner, rotationBatch);
    // Planner: admits due work within the CA's order budget (ledger: a control item).
    for (const [name, value] of Object.entries(this.#budgetEnvironment)) {
      this.planner.addEnvironment(name, value);
    }

    // Worker: the full runtime configuration and the issuing permissions.
    this.records.grantReadWrite(this.worker);
    this.secrets.grantWrite(this.worker);
    this.zones.grantChallengeWrite(this.worker);
    // The worker creates the ACME accounts: it alone may read the EAB HMAC key secrets.
    this.issuers.grantAccountSetup(this.worker);
    this.workQueue.addConsumer(this.worker, { maxConcurrency });

    // ACM import (opt-in): the worker imports; the sweep and Renew accept certloop:acm.
    if (props.acmImport) {
      AcmImport.grantImport(this.worker);
      AcmImport.configure(this.sweep);
      AcmImport.configure(this.renew);
    }

    // Sweep: the same configuration (it composes the same runtime), registration only.
    this.records.grantReadWrite(this.sweep);
    this.records.grantList(this.sweep);
    this.secrets.grantDiscover(this.sweep);
    this.zones.configure(this.sweep);
    this.issuers.configure(this.sweep);

    // Renew: the same configuration (composeRuntime builds the Secrets Manager and Route 53
    // clients without calling them), records and the budget document only.
    this.records.grantList(this.renew);
    this.records.grantReadPut(this.renew);
    this.secrets.configure(this.renew);
    this.zones.configure(this.renew);
    this.issuers.configure(this.renew);
    for (const [name, value] of Object.entries(this.#budgetEnvironment)) {
      this.renew.addEnvironment(name, value);
    }

    // STEK rotation: the rings in Secrets Manager, the lease items in the table.
    if (this.rotateStek) {
      this.stekSets.grantRotate(this.rotateStek);
      this.records.grantStekLocks(this.rotateStek, this.stekSets.setIds);
      new events.Rule(this, 'StekSchedule', {
        description: 'certloop: rotate the STEK sets',
        schedule: props.stekSchedule ?? events.Schedule.expression(CERTLOOP_DEFAULTS.stekSchedule),
        targets: [new targets.LambdaFunction(this.rotateStek, { retryAttempts: 2 })],
      });
    }

    new events.Rule(this, 'PlannerSchedule', {
      description: 'certloop: run the planner',
      schedule:
        props.plannerSchedule ?? events.Schedule.expression(CERTLOOP_DEFAULTS.plannerSchedule),
      targets: [new targets.LambdaFunction(this.planner, { retryAttempts: 2 })],
    });
    new events.Rule(this, 'SweepSchedule', {
      description: 'certloop: run the registration sweep',
      schedule: props.sweepSchedule ?? events.Schedule.expression(CERTLOOP_DEFAULTS.sweepSchedule),
      targets: [new targets.LambdaFunction(this.sweep, { retryAttempts: 2 })],
    });
    // A tag change on any secret under a certloop: key runs the sweep, so registration
    // follows within about a minute. The sweep re-reads every tagged secret; a handler
    // that registers only the secret named in the event is a later optimisation.
    this.tagChangeRule = new events.Rule(this, 'TagChange', {
      description: `certloop: run the registration sweep when a ${REGISTRATION_TAG_PREFIX}* tag of a secret changes`,
      eventPattern: {
        source: ['aws.tag'],
        detailType: ['Tag Change on Resource'],
        detail: {
          service: ['secretsmanager'],
          'resource-type': ['secret'],
          'changed-tag-keys': events.Match.prefix(REGISTRATION_TAG_PREFIX),
        },
      },
      targets: [new targets.LambdaFunction(this.sweep, { retryAttempts: 2 })],
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      encryptionKey: this.key,
      functions: {
        planner: this.planner,
        worker: this.worker,
        sweep: this.sweep,
        ...(this.rotateStek ? { stek: this.rotateStek } : {}),
      },
      deadLetterQueue: this.workQueue.deadLetterQueue,
      notificationEmail: props.notificationEmail,
      expiryAlarmDays: props.expiryAlarmDays,
      failureAlarmThreshold: props.failureAlarmThreshold,
    });
    // Events: the worker, the sweep (registrations it finds invalid) and the STEK rotation
    // announce what they did (source certloop).
    this.announcements = new Announcements(this, 'Announcements', {
      topic: this.monitoring.topic,
      encryptionKey: this.key,
      notifyOn: props.notifyOn,
    });
    this.announcements.grantPublish(this.worker);
    this.announcements.grantPublish(this.sweep);
    if (this.rotateStek) this.announcements.grantPublish(this.rotateStek);
  }

  /**
   * Runs the functions' own configuration readers (`readRuntimeConfig`,
   * `readPlannerConfig`, `readStekConfig`) on the values this construct will set, so a
   * malformed issuer (or a default issuer that names none), zone, suffix, budget,
   * rotation batch or STEK setting fails `cdk synth` with the message the function would
   * log at cold start, instead of failing after deploy.
   */
  #checkRuntimeConfig(rotationBatch: number): void {
    const values = [
      this.issuers.issuersJson,
      this.zones.hostedZonesJson,
      this.secrets.accountKeyPrefix,
      ...(this.zones.allowedSuffixes ?? []),
      ...Object.values(this.#budgetEnvironment),
      ...Object.values(this.stekSets.environment),
    ];
    if (values.some((value) => Token.isUnresolved(value))) return;
    const tableName = 'certloop-synth-check';
    try {
      // The props as given (unknown fields included), by the functions' reader, minus
      // what only local mode can use (an HMAC key file, a CA file to trust).
      readDeployedIssuers({ ...this.issuers.issuers });
      readPlannerConfig({
        [ENV.tableName]: tableName,
        [ENV.queueUrl]: 'https://sqs.us-east-1.amazonaws.com/123456789012/certloop-synth-check',
        [ENV.defaultIssuer]: this.issuers.effectiveDefaultIssuer,
        [ENV.rotationBatch]: `${rotationBatch}`,
      });
      if (this.stekSets.enabled) {
        readStekConfig({ [STEK_ENV.tableName]: tableName, ...this.stekSets.environment });
      }
    } catch (error) {
      throw new Error(`CertLoop: ${(error as Error).message}`);
    }
    // No zones is allowed at synth (ChallengeZones warns): the rest is checked with a
    // stand-in zone, so that a bad budget or issuer still fails here.
    const env: Record<string, string> = {
      [ENV.tableName]: tableName,
      [ENV.issuers]: this.issuers.issuersJson,
      [ENV.hostedZones]:
        this.zones.zones.length > 0
          ? this.zones.hostedZonesJson
          : JSON.stringify([{ hostedZoneId: 'ZSYNTHCHECK', domain: 'synth-check.example' }]),
      [ENV.accountKeyPrefix]: this.secrets.accountKeyPrefix,
      ...this.#budgetEnvironment,
    };
    if (this.issuers.defaultIssuer !== undefined) {
      env[ENV.defaultIssuer] = this.issuers.defaultIssuer;
    }
    if (this.zones.allowedSuffixes !== undefined) {
      env[ENV.allowedSuffixes] = this.zones.allowedSuffixes.join(' ');
    }
    try {
      readRuntimeConfig(env);
    } catch (error) {
      throw new Error(`CertLoop: ${(error as Error).message}`);
    }
  }
}
