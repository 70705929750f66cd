// `certloop cert export` for a host: a real nginx serves the pair the command wrote;
// after a renewal the next run writes the new pair and runs `--on-change` (nginx -s
// reload) once, and openssl s_client sees the new serial; a run with nothing new touches
// no file and runs nothing. The certificates are written by the local-mode directory
// store (what the engine writes in local mode); the command reads them as a host would.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCertCommand } from '../../cli/cert-command.js';
import { DirectoryCertificates } from '../../src/adapters/local/directory-certificates.js';
import { KeyMaterial } from '../../src/core/key-material.js';
import type { CertificateBundle } from '../../src/ports/secret-store.js';
import { eventually, type RunningNginx, servedSerial, startNginx } from '../support/nginx.js';
import { certificateMatchesKey, makeTestBundle } from '../support/test-certificates.js';

const run = promisify(execFile);

let dir: string;
let state: string;
let out: string;
let store: DirectoryCertificates;
let nginx: RunningNginx;
let prefix: string;

/** Runs `certloop cert export` in process; returns the printed lines or the error. */
async function exportCli(...extra: string[]): Promise<{ printed: string[]; error?: Error }> {
  const printed: string[] = [];
  const program = new Command().exitOverride();
  registerCertCommand(program, { stdout: (text) => printed.push(text) });
  try {
    await program.parseAsync(
      ['cert', 'export', '--secret', 'web', '--out', out, '--state-dir', state, ...extra],
      { from: 'user' },
    );
    return { printed };
  } catch (error) {
    return { printed, error: error as Error };
  }
}

/** Every file under the export folder with its inode and mtime: what "changed no file" means. */
async function snapshot(folder: string): Promise<string[]> {
  const entries: string[] = [];
  for (const entry of await readdir(folder, { recursive: true })) {
    const info = await lstat(join(folder, entry));
    entries.push(`${entry} ${info.ino} ${info.mtimeMs}`);
  }
  return entries.sort();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certloop-cert-export-'));
  state = join(dir, 'state');
  out = join(dir, 'tls');
  prefix = join(dir, 'nginx');
  await run('mkdir', ['-p', prefix]);
  store = new DirectoryCertificates(join(state, 'secrets'));
});

afterAll(async () => {
  await nginx?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('certloop cert export with a real nginx', () => {
  let first: CertificateBundle;
  let second: CertificateBundle;
  let port: number;
  const reloads = () => readFile(join(dir, 'reloads'), 'utf8').catch(() => '');

  it('writes the four PEM files, the key 0600 and matching the certificate, and prints only their paths', async () => {
    first = await makeTestBundle(['localhost'], 'ec-p256', { issuedBy: 'test-ca' });
    await store.writeCertificate('web', first, 'v1');

    const { printed, error } = await exportCli();
    expect(error).toBeUndefined();
    expect(printed.join('')).toBe(
      ['fullchain.pem', 'cert.pem', 'chain.pem', 'privkey.pem']
        .map((name) => `${join(out, name)}\n`)
        .join(''),
    );
    const key = new KeyMaterial(await readFile(join(out, 'privkey.pem'), 'utf8'));
    expect(certificateMatchesKey(await readFile(join(out, 'fullchain.pem'), 'utf8'), key)).toBe(
      true,
    );
    expect((await stat(join(out, 'privkey.pem'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(out, 'chain.pem'), 'utf8')).toBe(first.chain);
    expect(printed.join('')).not.toContain('PRIVATE KEY');

    nginx = await startNginx({
      prefix,
      certificate: join(out, 'fullchain.pem'),
      key: join(out, 'privkey.pem'),
    });
    port = nginx.port;
    expect(await servedSerial(port)).toBe(first.serial);
  });

  it('after a renewal writes the new pair, runs the reload once, and nginx serves the new serial', async () => {
    second = await makeTestBundle(['localhost'], 'ec-p256', { issuedBy: 'test-ca' });
    await store.writeCertificate('web', second, 'v2');
    const reload = `${nginx.reloadCommand} && echo reload >> ${join(dir, 'reloads')}`;

    const { printed, error } = await exportCli('--on-change', reload);
    expect(error).toBeUndefined();
    expect(printed).toHaveLength(4);
    expect(await reloads()).toBe('reload\n');
    expect(await eventually(() => servedSerial(port), second.serial)).toBe(second.serial);
    const key = new KeyMaterial(await readFile(join(out, 'privkey.pem'), 'utf8'));
    expect(certificateMatchesKey(await readFile(join(out, 'cert.pem'), 'utf8'), key)).toBe(true);
  });

  it('with nothing new changes no file, prints nothing and runs no command', async () => {
    const before = await snapshot(out);
    const { printed, error } = await exportCli(
      '--on-change',
      `echo reload >> ${join(dir, 'reloads')}`,
    );
    expect(error).toBeUndefined();
    expect(printed).toEqual([]);
    expect(await reloads()).toBe('reload\n');
    expect(await snapshot(out)).toEqual(before);
  });

  it('keeps the pair in place and fails when the secret is gone, naming it', async () => {
    const before = await snapshot(out);
    const printed: string[] = [];
    const program = new Command().exitOverride();
    registerCertCommand(program, { stdout: (text) => printed.push(text) });
    await expect(
      program.parseAsync(
        ['cert', 'export', '--secret', 'missing', '--out', out, '--state-dir', state],
        { from: 'user' },
      ),
    ).rejects.toThrow(/no certificate missing in local state/);
    expect(await snapshot(out)).toEqual(before);
    expect(await servedSerial(port)).toBe(second.serial);
  });

  it('a failing --on-change exits non-zero and runs again on the next run, until it succeeds', async () => {
    const third = await makeTestBundle(['localhost'], 'ec-p256', { issuedBy: 'test-ca' });
    await store.writeCertificate('web', third, 'v3');
    const attempts = join(dir, 'attempts');
    const failing = await exportCli('--on-change', `echo try >> ${attempts}; exit 3`);
    expect(failing.error?.message).toMatch(/--on-change command exited with 3/);
    expect(failing.printed).toHaveLength(4);
    // The export itself is new: the reload is what is owed.
    expect(JSON.parse(await readFile(join(out, 'live', 'export.json'), 'utf8')).serial).toBe(
      third.serial,
    );
    const retried = await exportCli('--on-change', `echo try >> ${attempts}`);
    expect(retried.error).toBeUndefined();
    expect(retried.printed).toEqual([]);
    const quiet = await exportCli('--on-change', `echo try >> ${attempts}`);
    expect(quiet.error).toBeUndefined();
    expect(await readFile(attempts, 'utf8')).toBe('try\ntry\n');
  });

  it('keeps the version before the swap and removes older ones', async () => {
    const versions = await readdir(join(out, '.versions'));
    expect(versions).toHaveLength(2);
    expect(versions.some((name) => name.startsWith(first.serial))).toBe(false);
  });
});

describe('certloop cert export --format pkcs12', () => {
  it('writes a PKCS#12 file that openssl opens with the passphrase, holding the current certificate', async () => {
    const bundle = await makeTestBundle(['p12.example.test'], 'ec-p256', { issuedBy: 'test-ca' });
    await store.writeCertificate('web', bundle, 'v4');
    const passphrase = join(dir, 'passphrase');
    await writeFile(passphrase, 'correct horse\n', { mode: 0o600 });
    const p12Program = new Command().exitOverride();
    const p12Printed: string[] = [];
    registerCertCommand(p12Program, { stdout: (text) => p12Printed.push(text) });
    await p12Program.parseAsync(
      [
        'cert',
        'export',
        '--secret',
        'web',
        '--out',
        join(dir, 'p12'),
        '--state-dir',
        state,
        '--format',
        'pkcs12',
        '--passphrase-file',
        passphrase,
      ],
      { from: 'user' },
    );
    const file = join(dir, 'p12', 'certificate.p12');
    expect(p12Printed).toEqual([`${file}\n`]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const { stdout } = await run('openssl', [
      'pkcs12',
      '-in',
      file,
      '-passin',
      `file:${passphrase}`,
      '-nokeys',
      '-clcerts',
    ]);
    expect(new X509Certificate(stdout).serialNumber.toUpperCase()).toBe(bundle.serial);
    await expect(
      run('openssl', ['pkcs12', '-in', file, '-passin', 'pass:wrong', '-nokeys']),
    ).rejects.toThrow();
    // No key file is left beside it.
    expect(await readdir(join(dir, 'p12', 'live'))).toEqual(['certificate.p12', 'export.json']);
  });

  it('refuses pkcs12 without a passphrase file before touching anything', async () => {
    const program = new Command().exitOverride();
    registerCertCommand(program, { stdout: () => undefined });
    await expect(
      program.parseAsync(
        [
          'cert',
          'export',
          '--secret',
          'web',
          '--out',
          join(dir, 'nop12'),
          '--state-dir',
          state,
          '--format',
          'pkcs12',
        ],
        { from: 'user' },
      ),
    ).rejects.toThrow(/--passphrase-file/);
    await expect(stat(join(dir, 'nop12'))).rejects.toThrow();
  });
});
