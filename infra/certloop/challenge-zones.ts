import { Annotations, Aws, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '../../src/config/environment.js';

/** A Route 53 hosted zone that certloop answers DNS-01 challenges in. */
export interface ChallengeZone {
  /** The hosted zone id, e.g. `Z0123456789ABC` (a `/hostedzone/` prefix is removed). */
  readonly hostedZoneId: string;
  /** The zone's domain, e.g. `example.com`. Names are matched to the longest zone suffix. */
  readonly domain: string;
  /**
   * A role to assume for this zone (a zone in another account). The worker may assume
   * exactly this role; the role's own policy decides what it may change in the zone.
   * @default - the worker's own role changes the zone
   */
  readonly roleArn?: string;
}

export interface ChallengeZonesProps {
  /**
   * The hosted zones. With none, nothing may be written to Route 53 and the issuing
   * functions refuse to start (CERTLOOP_HOSTED_ZONES must list a zone).
   * @default []
   */
  readonly zones?: ChallengeZone[];
  /**
   * DNS suffixes that certificate names must fall under.
   * @default - the zones' domains
   */
  readonly allowedSuffixes?: string[];
}

/** The DNS-01 solver the functions select with CERTLOOP_DNS. */
const DNS_KIND = 'route53';
/** Only these records may change (see Route53Dns01Solver: `_acme-challenge.*` TXT). */
export const CHALLENGE_RECORD_TYPES = ['TXT'];
export const CHALLENGE_RECORD_NAMES = ['_acme-challenge.*'];

/**
 * The hosted zones for DNS-01. `configure(fn)` sets CERTLOOP_DNS, CERTLOOP_HOSTED_ZONES
 * (and CERTLOOP_ALLOWED_SUFFIXES when given); `grantChallengeWrite(fn)` adds the Route 53
 * permissions: ChangeResourceRecordSets limited to `_acme-challenge.*` TXT records of the
 * zones the worker's own role changes, ListResourceRecordSets on those zones, GetChange,
 * and sts:AssumeRole on exactly the roles of cross-account zones.
 */
export class ChallengeZones extends Construct {
  readonly zones: readonly ChallengeZone[];
  readonly allowedSuffixes?: readonly string[];

  constructor(scope: Construct, id: string, props: ChallengeZonesProps = {}) {
    super(scope, id);
    this.zones = (props.zones ?? []).map((zone) => ({
      hostedZoneId: zone.hostedZoneId.trim().replace(/^\/?hostedzone\//, ''),
      domain: zone.domain.trim().toLowerCase().replace(/\.$/, ''),
      ...(zone.roleArn ? { roleArn: zone.roleArn.trim() } : {}),
    }));
    if (props.allowedSuffixes !== undefined) {
      this.allowedSuffixes = props.allowedSuffixes.map((s) => s.trim().toLowerCase());
    }
    const ids = new Set(this.zones.map((zone) => zone.hostedZoneId));
    if (ids.size !== this.zones.length) {
      throw new Error('ChallengeZones: a hosted zone id is listed twice');
    }
    if (this.zones.length === 0) {
      Annotations.of(this).addWarningV2(
        'certloop:no-hosted-zones',
        'No hosted zones are configured: the stack grants no Route 53 access and the worker, ' +
          `sweep and renew functions refuse to start (${ENV.hostedZones} must list a zone). ` +
          'Pass hostedZones before deploying.',
      );
    }
  }

  /** The value of CERTLOOP_HOSTED_ZONES. */
  get hostedZonesJson(): string {
    return JSON.stringify(this.zones);
  }

  /** Zones whose records the worker's own role changes (no role to assume). */
  get ownZones(): readonly ChallengeZone[] {
    return this.zones.filter((zone) => zone.roleArn === undefined);
  }

  /** Sets the DNS variables without any permission (the sweep reads the same config). */
  configure(fn: lambda.Function): void {
    fn.addEnvironment(ENV.dns, DNS_KIND);
    fn.addEnvironment(ENV.hostedZones, this.hostedZonesJson);
    if (this.allowedSuffixes !== undefined) {
      fn.addEnvironment(ENV.allowedSuffixes, this.allowedSuffixes.join(' '));
    }
  }

  /** DNS-01 writes: `_acme-challenge.*` TXT records only, in the configured zones only. */
  grantChallengeWrite(fn: lambda.Function): void {
    this.configure(fn);
    const own = this.ownZones.map(
      (zone) => `arn:${Aws.PARTITION}:route53:::hostedzone/${zone.hostedZoneId}`,
    );
    if (own.length > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'WriteAcmeChallengeRecords',
          actions: ['route53:ChangeResourceRecordSets'],
          resources: own,
          conditions: {
            'ForAllValues:StringEquals': {
              'route53:ChangeResourceRecordSetsRecordTypes': CHALLENGE_RECORD_TYPES,
            },
            'ForAllValues:StringLike': {
              'route53:ChangeResourceRecordSetsNormalizedRecordNames': CHALLENGE_RECORD_NAMES,
            },
          },
        }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ReadChallengeZones',
          actions: ['route53:ListResourceRecordSets'],
          resources: own,
        }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'WaitForChallengeChanges',
          actions: ['route53:GetChange'],
          resources: [`arn:${Aws.PARTITION}:route53:::change/*`],
        }),
      );
      const policy = fn.role?.node.tryFindChild('DefaultPolicy');
      if (policy) {
        Validations.of(policy).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::change/*]',
          reason:
            'route53:GetChange polls the status (PENDING/INSYNC) of the change ids the worker ' +
            'just submitted; change ids are generated by Route 53 per request, so they cannot be ' +
            'named in advance. GetChange reads a status and changes nothing.',
        });
      }
    }
    const roles = [...new Set(this.zones.flatMap((zone) => (zone.roleArn ? [zone.roleArn] : [])))];
    if (roles.length > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'AssumeCrossAccountZoneRoles',
          actions: ['sts:AssumeRole'],
          resources: roles,
        }),
      );
    }
  }
}
