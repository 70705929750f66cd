// Local mode against a CA of the user's own that requires External Account Binding (a
// pebble with one key id): the config file names the key id and a file holding the HMAC
// key; one tick creates the account with the binding and issues.
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocal } from '../../src/local/runner.js';
import { usePebble } from '../support/pebble.js';

const KID = 'kid-local-mode';
const HMAC_KEY = randomBytes(32).toString('base64url');

describe('local mode with an External Account Binding (acme.eab with hmacKeyFile)', () => {
  const pebble = usePebble({ externalAccountMACKeys: { [KID]: HMAC_KEY } });
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certloop-local-eab-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function configWith(hmacKey: string, name: string): Promise<string> {
    const trustedCaFile = join(dir, 'pebble-ca.pem');
    await writeFile(trustedCaFile, pebble().listenerCaPem);
    const hmacKeyFile = join(dir, `${name}.hmac`);
    await writeFile(hmacKeyFile, `${hmacKey}\n`, { mode: 0o600 });
    const configPath = join(dir, `${name}.json`);
    await writeFile(
      configPath,
      JSON.stringify({
        allowedSuffixes: ['example.test'],
        acme: {
          directoryUrl: pebble().directoryUrl,
          trustedCaFile,
          eab: { keyId: KID, hmacKeyFile },
        },
        dns: { challtestsrvUrl: pebble().challtestsrvUrl, challtestsrvDns: pebble().dnsServer },
        certificates: [{ name: 'www', domains: [`${name}.example.test`] }],
      }),
    );
    return configPath;
  }

  it('issues the configured certificate through an account created with the binding', async () => {
    const stateDir = join(dir, 'state-good');
    await runLocal({ configPath: await configWith(HMAC_KEY, 'good'), stateDir, once: true });
    const leaf = new X509Certificate(
      await readFile(join(stateDir, 'secrets', 'certs', 'www', 'current', 'cert.pem')),
    );
    expect(leaf.subjectAltName).toBe('DNS:good.example.test');
    expect(await readdir(join(stateDir, 'secrets', 'accounts'))).toHaveLength(1);
    // The issuers file other commands read names the key file, never the key.
    const issuers = await readFile(join(stateDir, 'issuers.json'), 'utf8');
    expect(JSON.parse(issuers)).toMatchObject({ default: { eab: { keyId: KID } } });
    expect(issuers.includes(HMAC_KEY)).toBe(false);
  });

  it('with a wrong HMAC key issues nothing and stores no account key', async () => {
    const stateDir = join(dir, 'state-wrong');
    const wrong = randomBytes(32).toString('base64url');
    await runLocal({ configPath: await configWith(wrong, 'wrong'), stateDir, once: true });
    const stored = await readdir(join(stateDir, 'secrets')).catch(() => [] as string[]);
    expect(stored).not.toContain('accounts');
    const certs = await readdir(join(stateDir, 'secrets', 'certs')).catch(() => [] as string[]);
    expect(certs).toEqual([]);
  });
});
