// The CertificateImporter contract (src/ports/certificate-importer.ts) as a suite that
// every implementation runs: the in-memory fake and the ACM adapter on moto.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CertloopError } from '../../src/core/errors.js';
import type { CertificateImporter } from '../../src/ports/certificate-importer.js';
import { keyFingerprints, linesWithKeyMaterial } from '../support/key-material-patterns.js';
import { makeTestBundle } from '../support/test-certificates.js';

export interface CertificateImporterFixture {
  importer: CertificateImporter;
  /** The DNS name of the certificate the manager now holds under `arn` (its subject). */
  domainOf(arn: string): Promise<string | undefined>;
  /** An ARN of this manager's shape that names no certificate. */
  unknownArn: string;
  teardown(): Promise<void>;
}

const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:certloop/www-Ab12Cd';

export function describeCertificateImporterContract(
  name: string,
  setup: () => Promise<CertificateImporterFixture>,
): void {
  describe(`CertificateImporter contract: ${name}`, () => {
    let f: CertificateImporterFixture;
    beforeEach(async () => {
      f = await setup();
    });
    afterEach(async () => {
      await f.teardown();
    });

    it('imports a new certificate and re-imports a renewal into the same ARN', async () => {
      const first = await makeTestBundle(['www.example.test'], 'ec-p256', { issuedBy: 'test-ca' });
      const { arn } = await f.importer.importCertificate({ secretId: SECRET, ...first });
      expect(arn).toMatch(/^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/);
      expect(await f.domainOf(arn)).toBe('www.example.test');

      const renewal = await makeTestBundle(['api.example.test'], 'rsa-2048', {
        issuedBy: 'test-ca',
      });
      const again = await f.importer.importCertificate({ secretId: SECRET, arn, ...renewal });
      expect(again.arn).toBe(arn);
      expect(await f.domainOf(arn)).toBe('api.example.test');
    });

    it('takes the same pair twice without harm', async () => {
      const pair = await makeTestBundle(['twice.example.test']);
      const { arn } = await f.importer.importCertificate({ secretId: SECRET, ...pair });
      await expect(
        f.importer.importCertificate({ secretId: SECRET, arn, ...pair }),
      ).resolves.toEqual({ arn });
      expect(await f.domainOf(arn)).toBe('twice.example.test');
    });

    it('fails with not-found, naming the ARN, for a certificate that does not exist', async () => {
      const pair = await makeTestBundle(['gone.example.test']);
      const error = await f.importer
        .importCertificate({ secretId: SECRET, arn: f.unknownArn, ...pair })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CertloopError);
      expect((error as CertloopError).kind).toBe('not-found');
      expect((error as CertloopError).message).toContain(f.unknownArn);
    });

    it('refuses a certificate that is not PEM as permanent, without echoing the key', async () => {
      const pair = await makeTestBundle(['broken.example.test']);
      const error = await f.importer
        .importCertificate({ secretId: SECRET, ...pair, certificate: 'not a certificate' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CertloopError);
      expect((error as CertloopError).kind).toBe('permanent');
      const text = `${(error as Error).message}\n${JSON.stringify(error)}`;
      expect(linesWithKeyMaterial(text, keyFingerprints(pair.privateKey.reveal()))).toEqual([]);
    });
  });
}
