import { Arn, ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { certificateIssuedPattern, type SecretRef } from './certificate-issued-rule.js';

/** An ECS service named by its cluster and name (for a service this app does not define). */
export interface EcsServiceName {
  /** The cluster's name or ARN. */
  readonly cluster: string;
  /** The service's name. */
  readonly serviceName: string;
}

export interface RedeployEcsServiceProps {
  /** The certificates' secrets whose renewal redeploys the service. At least one. */
  readonly secrets: readonly SecretRef[];
  /** The service whose tasks read the secret at start (ECS `secrets` injection). */
  readonly service: ecs.IBaseService | EcsServiceName;
}

/** The UpdateService call the target makes: a new deployment, nothing else changed. */
export interface ForceNewDeployment {
  readonly cluster: string;
  readonly service: string;
  readonly forceNewDeployment: true;
}

function isBaseService(service: RedeployEcsServiceProps['service']): service is ecs.IBaseService {
  return 'serviceArn' in service;
}

/**
 * ECS tasks read an injected secret once, at start: when certloop issues or renews one of
 * the secrets, this rule calls ECS UpdateService with forceNewDeployment, so the service
 * replaces its tasks (with its own deployment settings) and the new tasks start with the
 * new pair. The call is made by the `AwsApi` rule target (a small function CDK provides,
 * one per stack), which may only `ecs:UpdateService` this one service.
 */
export class RedeployEcsService extends Construct {
  readonly rule: events.Rule;
  /** The request the rule's target sends, as ECS reads it. */
  readonly call: ForceNewDeployment;

  constructor(scope: Construct, id: string, props: RedeployEcsServiceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    let serviceArn: string;
    if (isBaseService(props.service)) {
      this.call = {
        cluster: props.service.cluster.clusterName,
        service: props.service.serviceName,
        forceNewDeployment: true,
      };
      // IAM names services in the long ARN format (service/<cluster>/<name>), which
      // `serviceArn` of a service imported by name does not use.
      serviceArn = stack.formatArn({
        service: 'ecs',
        resource: 'service',
        resourceName: `${this.call.cluster}/${this.call.service}`,
        region: props.service.env.region,
        account: props.service.env.account,
      });
    } else {
      const { cluster, serviceName } = props.service;
      this.call = { cluster, service: serviceName, forceNewDeployment: true };
      // A cluster ARN names the cluster's account and region too; the service lives there.
      const clusterArn = cluster.startsWith('arn:')
        ? Arn.split(cluster, ArnFormat.SLASH_RESOURCE_NAME)
        : undefined;
      serviceArn = stack.formatArn({
        service: 'ecs',
        resource: 'service',
        resourceName: `${clusterArn?.resourceName ?? cluster}/${serviceName}`,
        ...(clusterArn
          ? {
              partition: clusterArn.partition,
              region: clusterArn.region,
              account: clusterArn.account,
            }
          : {}),
      });
    }
    this.rule = new events.Rule(this, 'OnCertificateIssued', {
      description: 'certloop: redeploy the ECS service when its certificate is renewed',
      eventPattern: certificateIssuedPattern(props.secrets),
    });
    this.rule.addTarget(
      new targets.AwsApi({
        service: 'ECS',
        action: 'updateService',
        parameters: this.call,
        policyStatement: new iam.PolicyStatement({
          actions: ['ecs:UpdateService'],
          resources: [serviceArn],
        }),
      }),
    );
    acknowledgeAwsApiFunction(stack);
  }
}

/** The id of the AwsApi target's function in its stack (`AWS` + the uuid aws-cdk-lib fixes). */
const AWS_API_FUNCTION_ID = 'AWSb4cf1abd4e4f4bc699441af7ccd9ec37';

/** The AwsApi target's singleton function: CDK's code and role, acknowledged once. */
function acknowledgeAwsApiFunction(stack: Stack): void {
  const singleton = stack.node.tryFindChild(AWS_API_FUNCTION_ID);
  if (!singleton) return;
  Validations.of(singleton).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      'The AwsApi rule target function is CDK code with a role CDK creates: its only managed ' +
      'policy is AWSLambdaBasicExecutionRole (writing its own logs); the API it may call is ' +
      'granted per service in an inline statement (ecs:UpdateService on that service only).',
  });
}
