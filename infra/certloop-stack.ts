import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CertLoop, type CertLoopProps } from './certloop/certloop.js';

export interface CertLoopStackProps extends StackProps {
  /**
   * The CertLoop construct's props.
   * @default - every CertLoop default (no hosted zones: see CertLoopProps.hostedZones)
   */
  readonly certloop?: CertLoopProps;
}

/**
 * The certloop app's stack: one CertLoop and its outputs. Environment-agnostic (no
 * account or region lookups), so `cdk synth` needs no credentials.
 */
export class CertLoopStack extends Stack {
  readonly certloop: CertLoop;

  constructor(scope: Construct, id: string, props: CertLoopStackProps = {}) {
    super(scope, id, {
      description: 'certloop: serverless TLS certificate renewal (ACME DNS-01 to Secrets Manager)',
      ...props,
    });
    const certloop = new CertLoop(this, 'CertLoop', props.certloop);
    this.certloop = certloop;

    const outputs: Record<string, { value: string; description: string }> = {
      TableName: {
        value: certloop.records.table.tableName,
        description: 'DynamoDB table of certificate records',
      },
      QueueUrl: { value: certloop.workQueue.queue.queueUrl, description: 'SQS work queue' },
      DeadLetterQueueUrl: {
        value: certloop.workQueue.deadLetterQueue.queueUrl,
        description: 'SQS dead-letter queue of the work queue',
      },
      PlannerFunctionName: {
        value: certloop.planner.functionName,
        description: 'Planner function (scheduled)',
      },
      WorkerFunctionName: {
        value: certloop.worker.functionName,
        description: 'Worker function (SQS)',
      },
      SweepFunctionName: {
        value: certloop.sweep.functionName,
        description: 'Registration sweep function (scheduled and on tag change)',
      },
      RenewFunctionName: {
        value: certloop.renew.functionName,
        description: 'Renew function (manual invoke: forced renewals)',
      },
      ...(certloop.rotateStek
        ? {
            StekFunctionName: {
              value: certloop.rotateStek.functionName,
              description: 'STEK rotation function (scheduled)',
            },
          }
        : {}),
      NoticeTopicArn: {
        value: certloop.monitoring.topic.topicArn,
        description: 'SNS topic of alarm notices',
      },
      DashboardName: {
        value: certloop.monitoring.dashboard.dashboardName,
        description: 'CloudWatch dashboard',
      },
    };
    for (const [id, output] of Object.entries(outputs)) new CfnOutput(this, id, output);
  }
}
