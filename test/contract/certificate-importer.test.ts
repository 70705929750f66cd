import { X509Certificate } from 'node:crypto';
import { ACMClient, DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { describe, expect, it } from 'vitest';
import {
  AcmCertificateImporter,
  regionOfArn,
  translateAcmError,
} from '../../src/adapters/aws/acm-certificate-importer.js';
import { MemoryCertificateImporter } from '../../src/adapters/memory/memory-certificate-importer.js';
import { freshMotoPerTest } from '../support/moto.js';
import { makeTestBundle, makeTestKey } from '../support/test-certificates.js';
import { describeCertificateImporterContract } from './certificate-importer.contract.js';

describeCertificateImporterContract('MemoryCertificateImporter', async () => {
  const importer = new MemoryCertificateImporter();
  return {
    importer,
    domainOf: async (arn) => {
      const held = importer.get(arn);
      return held ? new X509Certificate(held.certificate).subject.replace(/^CN=/, '') : undefined;
    },
    unknownArn:
      'arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-4000-8000-999999999999',
    teardown: async () => {},
  };
});

describe('on moto', () => {
  const freshMoto = freshMotoPerTest();

  describeCertificateImporterContract('AcmCertificateImporter on moto', async () => {
    await freshMoto();
    const client = new ACMClient({});
    return {
      importer: new AcmCertificateImporter({ clientFor: () => client }),
      domainOf: async (arn) =>
        (await client.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate
          ?.DomainName,
      unknownArn:
        'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-4333-8444-555555555555',
      teardown: async () => client.destroy(),
    };
  });

  it('re-imports through a client of the region the ARN names (CloudFront wants us-east-1)', async () => {
    const regions: Array<string | undefined> = [];
    const importer = new AcmCertificateImporter({
      clientFor: (region) => {
        regions.push(region);
        return new ACMClient(region ? { region } : {});
      },
    });
    const pair = await makeTestBundle(['region.example.test']);
    const { arn } = await importer.importCertificate({ secretId: 's', ...pair });
    await importer.importCertificate({ secretId: 's', arn, ...pair });
    expect(regions).toEqual([undefined, 'us-east-1']);
  });
});

describe('ACM errors', () => {
  const request = {
    secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:www-Ab12Cd',
    arn: 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-4333-8444-555555555555',
    certificate: '',
    chain: '',
    privateKey: makeTestKey(),
  };
  const sdkError = (name: string, status?: number) =>
    Object.assign(new Error(`${name} from ACM`), {
      name,
      ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
    });

  it.each([
    ['ThrottlingException', 400, 'infrastructure'],
    ['InternalFailure', 500, 'infrastructure'],
    ['RequestInProgressException', 400, 'infrastructure'],
    ['AccessDeniedException', 400, 'permanent'],
    ['Whatever', 403, 'permanent'],
    ['ValidationException', 400, 'permanent'],
    ['InvalidArnException', 400, 'permanent'],
    ['ResourceNotFoundException', 400, 'not-found'],
    ['SomethingNew', 400, 'transient'],
  ])('%s (HTTP %i) is %s, and names the ARN', (name, status, kind) => {
    const error = translateAcmError(sdkError(name, status), request);
    expect(error.kind).toBe(kind);
    expect(error.source).toBe('acm');
    expect(error.message).toContain(request.arn);
  });

  it('a refused connection is infrastructure', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(translateAcmError(refused, request).kind).toBe('infrastructure');
  });

  it('says what to deploy when the worker may not import', () => {
    expect(translateAcmError(sdkError('AccessDeniedException', 400), request).message).toContain(
      'acmImport',
    );
  });

  it('reads the region of an ACM certificate ARN, and nothing else', () => {
    expect(regionOfArn(request.arn)).toBe('us-east-1');
    expect(regionOfArn('arn:aws-cn:acm:cn-north-1:123456789012:certificate/abc-def')).toBe(
      'cn-north-1',
    );
    expect(regionOfArn('arn:aws:secretsmanager:us-east-1:123456789012:secret:x')).toBeUndefined();
    expect(regionOfArn('new')).toBeUndefined();
  });
});
