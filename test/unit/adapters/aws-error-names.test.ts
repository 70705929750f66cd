import { describe, expect, it } from 'vitest';
import { translateAcmError } from '../../../src/adapters/aws/acm-certificate-importer.js';
import { translateRoute53Error } from '../../../src/adapters/aws/route53-errors.js';
import { translateSecretsManagerError } from '../../../src/adapters/aws/secrets-manager-errors.js';
import { translateDynamoDbError } from '../../../src/adapters/dynamodb/errors.js';
import {
  ACCESS_DENIED_ERROR_NAMES,
  CREDENTIAL_ERROR_NAMES,
  UNAVAILABLE_ERROR_NAMES,
} from '../../../src/adapters/sdk-errors.js';
import { makeTestKey } from '../../support/test-certificates.js';

const sdkError = (name: string, status = 400) =>
  Object.assign(new Error(`${name} from AWS`), { name, $metadata: { httpStatusCode: status } });

const translations = {
  'Secrets Manager': (error: unknown) =>
    translateSecretsManagerError(error, { operation: 'GetSecretValue', secretId: 'app/www' }),
  'Route 53': (error: unknown) =>
    translateRoute53Error(error, {
      operation: 'ChangeResourceRecordSets',
      hostedZoneId: 'Z1',
      domain: 'example.com',
    }),
  ACM: (error: unknown) =>
    translateAcmError(error, {
      secretId: 'app/www',
      certificate: '',
      chain: '',
      privateKey: makeTestKey(),
    }),
  DynamoDB: (error: unknown) =>
    translateDynamoDbError(error, { tableName: 'certloop', action: 'get record x' }),
};

describe('the AWS error names shared by every adapter', () => {
  for (const [service, translate] of Object.entries(translations)) {
    it(`${service}: every throttling or unavailability name is infrastructure`, () => {
      for (const name of UNAVAILABLE_ERROR_NAMES) {
        expect([name, translate(sdkError(name)).kind]).toEqual([name, 'infrastructure']);
      }
    });

    it(`${service}: every credential name is infrastructure, never the certificate's fault`, () => {
      for (const name of CREDENTIAL_ERROR_NAMES) {
        const error = translate(sdkError(name));
        expect([name, error.kind, error.countsAsFailure]).toEqual([name, 'infrastructure', false]);
      }
    });
  }

  it('access denied is permanent where a person must grant a call, infrastructure on our own table', () => {
    for (const name of ACCESS_DENIED_ERROR_NAMES) {
      expect(translations['Secrets Manager'](sdkError(name)).kind).toBe('permanent');
      expect(translations['Route 53'](sdkError(name)).kind).toBe('permanent');
      expect(translations.ACM(sdkError(name)).kind).toBe('permanent');
      expect(translations.DynamoDB(sdkError(name)).kind).toBe('infrastructure');
    }
  });

  it('an unknown 4xx name stays transient in every adapter', () => {
    for (const translate of Object.values(translations)) {
      expect(translate(sdkError('SomethingNew')).kind).toBe('transient');
    }
  });
});
