// Real keys and certificates for tests: a fresh private key from node:crypto and a
// certificate for it made by the openssl CLI, either self-signed or signed by a
// per-process test CA (then `chain` holds the CA certificate). Bundle fields (serial,
// validity, issuer) are read back from the certificate, so they are always consistent.
// Key material only travels as KeyMaterial; nothing here prints it.
import { execFile } from 'node:child_process';
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KeyMaterial } from '../../src/core/key-material.js';
import type { KeyType } from '../../src/core/key-type.js';
import type { CertificateBundle } from '../../src/ports/secret-store.js';

const run = promisify(execFile);

export interface TestBundleOptions {
  /** Validity in days from now (default 90). */
  days?: number;
  /**
   * `self` (default): a self-signed leaf, `chain` is empty.
   * `test-ca`: a leaf signed by a test CA shared by the process, `chain` is its certificate.
   */
  issuedBy?: 'self' | 'test-ca';
}

/** A new private key of the type, PKCS#8 PEM. */
export function makeTestKey(keyType: KeyType = 'ec-p256'): KeyMaterial {
  const { privateKey } = keyType.startsWith('rsa-')
    ? generateKeyPairSync('rsa', { modulusLength: Number(keyType.slice('rsa-'.length)) })
    : generateKeyPairSync('ec', { namedCurve: keyType === 'ec-p384' ? 'P-384' : 'P-256' });
  return new KeyMaterial(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
}

/**
 * A CertificateBundle with a real key of `keyType` (default ec-p256) and a certificate
 * for exactly `domains` (SANs; the first name is the common name).
 */
export async function makeTestBundle(
  domains: string[],
  keyType: KeyType = 'ec-p256',
  options: TestBundleOptions = {},
): Promise<CertificateBundle> {
  const [commonName] = domains;
  if (commonName === undefined) throw new TypeError('makeTestBundle needs at least one domain');
  const days = String(options.days ?? 90);
  const privateKey = makeTestKey(keyType);
  const subject = ['-subj', `/CN=${commonName}`];
  const san = ['-addext', `subjectAltName=${domains.map((name) => `DNS:${name}`).join(',')}`];

  const dir = await mkdtemp(join(tmpdir(), 'certloop-test-cert-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    await writeFile(keyFile, privateKey.reveal(), { mode: 0o600 });
    let chain = '';
    if (options.issuedBy === 'test-ca') {
      const ca = await testCa();
      const csrFile = join(dir, 'leaf.csr');
      await openssl(['req', '-new', '-key', keyFile, ...subject, ...san, '-out', csrFile]);
      await openssl([
        'x509',
        '-req',
        '-in',
        csrFile,
        '-CA',
        ca.certFile,
        '-CAkey',
        ca.keyFile,
        '-set_serial',
        `0x${randomBytes(16).toString('hex')}`,
        '-copy_extensions',
        'copyall',
        '-days',
        days,
        '-sha256',
        '-out',
        certFile,
      ]);
      chain = ca.certificate;
    } else {
      await openssl([
        'req',
        '-x509',
        '-new',
        '-key',
        keyFile,
        ...subject,
        ...san,
        '-days',
        days,
        '-sha256',
        '-out',
        certFile,
      ]);
    }
    const certificate = await readFile(certFile, 'utf8');
    const x509 = new X509Certificate(certificate);
    return {
      certificate,
      chain,
      fullchain: certificate + chain,
      privateKey,
      domains: [...domains].sort(),
      serial: x509.serialNumber.toUpperCase(),
      notBefore: new Date(x509.validFrom).toISOString(),
      notAfter: new Date(x509.validTo).toISOString(),
      issuer: distinguishedName(x509.issuer),
      keyType,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** True when `certificatePem` (the first certificate of a PEM list) is for `key`. */
export function certificateMatchesKey(certificatePem: string, key: KeyMaterial): boolean {
  return new X509Certificate(certificatePem).checkPrivateKey(createPrivateKey(key.reveal()));
}

/** A short digest of a key, safe to print and compare in assertions. */
export function keyDigest(key: KeyMaterial): string {
  return createHash('sha256').update(key.reveal()).digest('hex').slice(0, 16);
}

/** Node renders a DN as one `K=V` per line; bundles carry it on one line. */
function distinguishedName(rendered: string): string {
  return rendered.split('\n').filter(Boolean).join(', ');
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (error) {
    // stderr of `openssl req` names files and options, never key bytes.
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`);
  }
}

interface TestCa {
  dir: string;
  keyFile: string;
  certFile: string;
  certificate: string;
}

let testCaPromise: Promise<TestCa> | undefined;

/** One test CA per process, kept in a temp dir that is removed when the process exits. */
function testCa(): Promise<TestCa> {
  testCaPromise ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'certloop-test-ca-'));
    // `exit` listeners cannot await: remove the folder synchronously.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const keyFile = join(dir, 'ca.key');
    const certFile = join(dir, 'ca.pem');
    await writeFile(keyFile, makeTestKey('ec-p256').reveal(), { mode: 0o600 });
    await openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      keyFile,
      '-subj',
      '/CN=certloop test CA',
      '-days',
      '3650',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      certFile,
    ]);
    return { dir, keyFile, certFile, certificate: await readFile(certFile, 'utf8') };
  })();
  return testCaPromise;
}

/** The DNS names in a certificate's subjectAltName, sorted (read independently of src/). */
export function sansOf(certificate: X509Certificate): string[] {
  return (certificate.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice('DNS:'.length))
    .sort();
}
