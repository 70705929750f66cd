import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { EVENT_SOURCE, EVENT_TYPES } from '../../src/core/certificate-events.js';

/** Which certloop events also reach the notice topic as readable messages. */
export const NOTIFY_ON = ['none', 'failures', 'all'] as const;
export type NotifyOn = (typeof NOTIFY_ON)[number];

export interface AnnouncementsProps {
  /** The notice topic (KMS-encrypted). */
  readonly topic: sns.ITopic;
  /** The key the topic is encrypted with: EventBridge must be able to use it. */
  readonly encryptionKey: kms.IKey;
  /**
   * `failures`: renewal failures and invalid certificates go to the topic; `all`: also
   * every issuance and STEK rotation; `none`: only the events on the bus.
   * @default 'failures'
   */
  readonly notifyOn?: NotifyOn;
}

const F = (path: string) => events.EventField.fromPath(`$.detail.${path}`);

/**
 * certloop's events on the default EventBridge bus (source `certloop`): `grantPublish`
 * lets a function put exactly those (PutEvents on the default bus, `events:source`
 * = certloop); rules per `notifyOn` forward them to the notice topic as short text.
 */
export class Announcements extends Construct {
  readonly notifyOn: NotifyOn;
  readonly rules: events.Rule[] = [];

  constructor(scope: Construct, id: string, props: AnnouncementsProps) {
    super(scope, id);
    this.notifyOn = props.notifyOn ?? 'failures';
    if (!(NOTIFY_ON as readonly string[]).includes(this.notifyOn)) {
      throw new Error(
        `CertLoop: notifyOn "${this.notifyOn}" is not one of ${NOTIFY_ON.join(', ')}`,
      );
    }
    if (this.notifyOn === 'none') return;
    const forward = (name: string, detailType: string, text: string) => {
      this.rules.push(
        new events.Rule(this, name, {
          description: `certloop: ${detailType} events to the notice topic`,
          eventPattern: { source: [EVENT_SOURCE], detailType: [detailType] },
          targets: [
            new targets.SnsTopic(props.topic, { message: events.RuleTargetInput.fromText(text) }),
          ],
        }),
      );
    };
    forward(
      'RenewalFailed',
      EVENT_TYPES.renewalFailed,
      `certloop: renewal of ${F('secretArn')} failed (${F('errorKind')}): ${F('message')}. Failures in a row: ${F('failures')}; next attempt ${F('nextAttemptAt')}.`,
    );
    forward(
      'Invalid',
      EVENT_TYPES.invalid,
      `certloop: ${F('secretArn')} is invalid and waits for a fix: ${F('problems')}`,
    );
    if (this.notifyOn === 'all') {
      forward(
        'Issued',
        EVENT_TYPES.issued,
        `certloop: ${F('secretArn')} has a new certificate, serial ${F('serial')}, valid until ${F('notAfter')} (${F('rule')}).`,
      );
      forward(
        'StekRotated',
        EVENT_TYPES.stekRotated,
        `certloop: STEK set ${F('setId')} rotated to generation ${F('ringGeneration')}.`,
      );
    }
    // EventBridge publishes to the encrypted topic as events.amazonaws.com.
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEventBridgeToPublishEncryptedNotices',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
      }),
    );
  }

  /** Lets `fn` put certloop events on the default bus, and nothing else. */
  grantPublish(fn: lambda.IFunction): void {
    const stack = Stack.of(this);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [
          `arn:${stack.partition}:events:${stack.region}:${stack.account}:event-bus/default`,
        ],
        conditions: { StringEquals: { 'events:source': EVENT_SOURCE } },
      }),
    );
  }
}
