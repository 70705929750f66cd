import { Aws, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { ENV } from '../../src/config/environment.js';
import { ACM_SECRET_TAG } from '../../src/config/shared-names.js';

/** The ACM certificates the worker may import into: this account's, in any region. */
export function acmCertificateArns(): string[] {
  return [`arn:${Aws.PARTITION}:acm:*:${Aws.ACCOUNT_ID}:certificate/*`];
}

/**
 * `certloop:acm` support (the construct's `acmImport`): every function that registers or
 * issues learns that imports are on (CERTLOOP_ACM_IMPORT), and the worker may import.
 */
export const AcmImport = {
  /** Sweep and Renew: registrations with `certloop:acm` are accepted. */
  configure(fn: lambda.Function): void {
    fn.addEnvironment(ENV.acmImport, 'true');
  },

  /**
   * The worker: ImportCertificate into this account's certificates (a new one, or the ARN
   * a tag names; ACM is regional and CloudFront reads us-east-1, so any region), and the
   * one tag a new import carries. A policy of its own, so its wildcard is acknowledged
   * apart from the rest.
   */
  grantImport(fn: lambda.Function): void {
    AcmImport.configure(fn);
    if (!fn.role) throw new Error('AcmImport.grantImport: the function has no role');
    const policy = new iam.Policy(fn, 'ImportIntoAcm', {
      roles: [fn.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'ImportCertificatesIntoAcm',
          actions: ['acm:ImportCertificate'],
          resources: acmCertificateArns(),
        }),
        new iam.PolicyStatement({
          sid: 'TagNewAcmImports',
          actions: ['acm:AddTagsToCertificate'],
          resources: acmCertificateArns(),
          conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [ACM_SECRET_TAG] } },
        }),
      ],
    });
    fn.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:acm:*:<AWS::AccountId>:certificate/*]',
      reason:
        'ACM generates certificate ids at import, and the certificates a user names with the ' +
        'certloop:acm tag were created by them, so no narrower ARN exists; any region because a ' +
        'certificate for CloudFront lives in us-east-1. The statement is limited to this account, ' +
        `to ImportCertificate, and to tagging with ${ACM_SECRET_TAG} only; it is granted only when ` +
        'the acmImport prop is on.',
    });
  },
};
