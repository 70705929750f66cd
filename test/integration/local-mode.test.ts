import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';

const logFile = join(process.cwd(), 'test', '.logs', `local-mode-${process.pid}.log`);

function processesMentioning(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', text], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('local mode (`npm start`) with the committed example config', () => {
  let child: ChildProcess | undefined;
  let stateDir = '';
  let output = '';

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('puts a certificate and key for the example names on disk within 60 seconds, and Ctrl-C leaves no pebble behind', async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'certloop-local-'));
    const started = Date.now();
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/certloop.ts',
        'local',
        '--config',
        'examples/certloop.local.json',
        '--state-dir',
        stateDir,
      ],
      {
        cwd: process.cwd(),
        env: { ...process.env, CERTLOOP_TEST_VERBOSE: undefined },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      appendFileSync(logFile, chunk);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);

    const example = JSON.parse(readFileSync('examples/certloop.local.json', 'utf8')) as {
      certificates: Array<{ name: string; domains: string[]; wildcards?: string[] }>;
    };
    const files = example.certificates.map((c) =>
      join(stateDir, 'secrets', 'certs', c.name, 'current', 'privkey.pem'),
    );
    while (
      !files.every((f) => existsSync(f)) &&
      Date.now() - started < 60_000 &&
      child.exitCode === null
    )
      await sleep(200);
    const elapsed = Date.now() - started;
    expect(
      files.filter((f) => !existsSync(f)),
      output.slice(-2000),
    ).toEqual([]);
    expect(elapsed).toBeLessThan(60_000);

    for (const c of example.certificates) {
      const dir = join(stateDir, 'secrets', 'certs', c.name, 'current');
      const leaf = new X509Certificate(readFileSync(join(dir, 'fullchain.pem')));
      expect(leaf.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'privkey.pem'))))).toBe(
        true,
      );
      expect(statSync(join(dir, 'privkey.pem')).mode & 0o777).toBe(0o600);
      const expected = [...c.domains, ...(c.wildcards ?? []).map((w) => `*.${w}`)].sort();
      expect(
        (leaf.subjectAltName ?? '')
          .split(', ')
          .map((s) => s.slice(4))
          .sort(),
      ).toEqual(expected);
    }
    while (!output.includes('next attempt') && Date.now() - started < 60_000) await sleep(100);
    expect(output).toMatch(/tick at .*: 3 due, 3 issued/);
    expect(processesMentioning(stateDir).some((line) => line.includes('pebble'))).toBe(true);

    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) =>
      child?.once('exit', (c) => resolve(c)),
    );
    expect(code).toBe(0);
    expect(processesMentioning(stateDir)).toEqual([]);
  });
});
