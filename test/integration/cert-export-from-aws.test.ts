import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerCertificates } from '../../src/adapters/aws/secrets-manager-certificates.js';
import { KeyMaterial } from '../../src/core/key-material.js';
import type { CertificateBundle } from '../../src/ports/secret-store.js';
import { type MotoEnv, useMotoEnv } from '../support/moto.js';
import { runCertloop } from '../support/run-logged.js';
import { certificateMatchesKey, makeTestBundle } from '../support/test-certificates.js';

/** Every entry under an export folder with its inode and mtime: what "changed no file" means. */
function snapshot(folder: string): string[] {
  return readdirSync(folder, { recursive: true })
    .map((entry) => {
      const info = lstatSync(join(folder, String(entry)));
      return `${entry} ${info.ino} ${info.mtimeMs}`;
    })
    .sort();
}
/** The installed command, as a host's timer runs it (exit code and output). */
function certloop(...args: string[]) {
  return runCertloop(args, { logName: 'cert-export-aws' });
}

// A host exporting a certificate from Secrets Manager (moto here), through the standard
// credential chain and AWS_ENDPOINT_URL, as it would from AWS.
describe('certloop cert export against Secrets Manager', () => {
  let moto: MotoEnv;
  let dir = '';
  let arn = '';
  let bundle: CertificateBundle;

  beforeAll(async () => {
    moto = await useMotoEnv();
    dir = await mkdtemp(join(tmpdir(), 'certloop-cert-aws-'));
    const client = new SecretsManagerClient({});
    const created = await client.send(new CreateSecretCommand({ Name: 'tls/web' }));
    arn = created.ARN ?? '';
    bundle = await makeTestBundle(['web.example.test'], 'ec-p256', { issuedBy: 'test-ca' });
    await new SecretsManagerCertificates(client).writeCertificate(arn, bundle, 'issue-1');
  });
  afterAll(async () => {
    await moto?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads AWSCURRENT by ARN and writes the pair, printing only the paths', async () => {
    const out = join(dir, 'tls');
    const result = await certloop('cert', 'export', '--secret', arn, '--out', out);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(
      ['fullchain.pem', 'cert.pem', 'chain.pem', 'privkey.pem'].map((name) => join(out, name)),
    );
    expect(result.stdout + result.stderr).not.toContain('PRIVATE KEY');
    const key = new KeyMaterial(readFileSync(join(out, 'privkey.pem'), 'utf8'));
    expect(certificateMatchesKey(readFileSync(join(out, 'fullchain.pem'), 'utf8'), key)).toBe(true);
    expect(readFileSync(join(out, 'cert.pem'), 'utf8')).toBe(bundle.certificate);
    expect(statSync(join(out, 'privkey.pem')).mode & 0o777).toBe(0o600);
  });

  it('reads a secret name with --aws, and exits non-zero naming a secret that does not exist', async () => {
    const byName = await certloop(
      'cert',
      'export',
      '--secret',
      'tls/web',
      '--aws',
      '--out',
      join(dir, 'by-name'),
    );
    expect(byName.code).toBe(0);
    expect(readFileSync(join(dir, 'by-name', 'cert.pem'), 'utf8')).toBe(bundle.certificate);

    const missing = await certloop(
      'cert',
      'export',
      '--secret',
      'tls/none',
      '--aws',
      '--out',
      join(dir, 'none'),
    );
    expect(missing.code).not.toBe(0);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/tls\/none/);
  });

  it("a broken secret value (not JSON, or a key that is not the certificate's) leaves the old pair, runs nothing and exits non-zero naming the problem", async () => {
    const out = join(dir, 'guarded');
    const ran = join(dir, 'guarded-ran');
    const onChange = ['--on-change', `echo ran >> ${ran}`];
    const good = await certloop('cert', 'export', '--secret', arn, '--out', out, ...onChange);
    expect(good.code).toBe(0);
    expect(readFileSync(ran, 'utf8')).toBe('ran\n');
    const before = snapshot(out);

    const client = new SecretsManagerClient({});
    const stored = JSON.parse(
      (await client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString ?? '{}',
    ) as Record<string, unknown>;
    const other = await makeTestBundle(['web.example.test'], 'ec-p256', { issuedBy: 'test-ca' });
    const otherCertificate = {
      ...stored,
      certificate: other.certificate,
      fullchain: other.certificate + other.chain,
    };
    const broken: Array<[string, RegExp]> = [
      ['{"certificate": "-----BEGIN CERT', /the value is not JSON/],
      [JSON.stringify(otherCertificate), /the privateKey does not match the certificate/],
    ];
    for (const [value, problem] of broken) {
      await client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: value }));
      const result = await certloop('cert', 'export', '--secret', arn, '--out', out, ...onChange);
      expect(result.code, value.slice(0, 30)).not.toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(arn);
      expect(result.stderr).toMatch(problem);
      expect(result.stderr).not.toContain('PRIVATE KEY');
      expect(snapshot(out)).toEqual(before);
      expect(readFileSync(ran, 'utf8')).toBe('ran\n');
      expect(readFileSync(join(out, 'cert.pem'), 'utf8')).toBe(bundle.certificate);
    }
    expect(existsSync(join(out, '.on-change-pending'))).toBe(false);
  });
});
