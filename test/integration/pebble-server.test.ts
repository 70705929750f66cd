import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PEBBLE_INSTALL_COMMAND, startPebble } from '../../src/local/pebble-server.js';

/** Running = exists and is not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).charAt(0) !== 'Z';
  } catch {
    return false;
  }
}

async function eventuallyDead(pids: number[], withinMs = 5_000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Names of this process's live child processes. */
function childCommands(): string[] {
  const out = execFileSync('ps', ['-o', 'stat=,comm=', '--ppid', String(process.pid)], {
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('Z'))
    .map((line) => line.split(/\s+/).slice(1).join(' '));
}

const MODULE = fileURLToPath(new URL('../../src/local/pebble-server.ts', import.meta.url));

/** Runs a Node process that starts pebble, then ends the way `ending` says. */
function startInChild(ending: string) {
  const script = [
    `import { startPebble } from ${JSON.stringify(MODULE)};`,
    'const server = await startPebble();',
    'const facts = { ...server.pids, stateDir: server.stateDir };',
    'process.stdout.write(JSON.stringify(facts) + "\\n");',
    ending,
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const facts = new Promise<{ pebble: number; challtestsrv: number; stateDir: string }>(
    (resolve, reject) => {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(JSON.parse(stdout.split('\n')[0] ?? ''));
      });
      child.once('exit', () => reject(new Error(`child exited before starting pebble: ${stderr}`)));
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, facts, exited };
}

describe('startPebble', () => {
  it('serves a directory over HTTPS trusted through listenerCaPem, and stop() leaves no process behind', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'certloop-pebble-test-'));
    try {
      const server = await startPebble({ stateDir });
      const { pebble, challtestsrv } = server.pids;
      try {
        expect(isAlive(pebble)).toBe(true);
        expect(isAlive(challtestsrv)).toBe(true);
        expect(server.directoryUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/dir$/);
        expect(server.dnsServer).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(new X509Certificate(server.listenerCaPem).checkIP('127.0.0.1')).toBe('127.0.0.1');

        const root = new X509Certificate(await server.rootCertificatePem());
        expect(root.ca).toBe(true);
        expect(await readdir(stateDir)).not.toEqual([]);

        // The DNS server pebble validates against is challtestsrv's.
        const set = await fetch(`${server.challtestsrvUrl}/set-txt`, {
          method: 'POST',
          body: JSON.stringify({ host: '_acme-challenge.probe.certloop.test.', value: 'probe' }),
        });
        expect(set.status).toBe(200);
      } finally {
        await server.stop();
      }
      expect(isAlive(pebble)).toBe(false);
      expect(isAlive(challtestsrv)).toBe(false);
      expect(childCommands().filter((command) => command.startsWith('pebble'))).toEqual([]);
      // The process groups are gone too (nothing forked by the children survives).
      expect(() => process.kill(-pebble, 0)).toThrow();
      expect(() => process.kill(-challtestsrv, 0)).toThrow();
      // Our files are removed; the caller's directory stays.
      expect(await readdir(stateDir)).toEqual([]);
      // stop() is idempotent.
      await expect(server.stop()).resolves.toBeUndefined();
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('runs several instances side by side on different ports', async () => {
    const [first, second] = await Promise.all([startPebble(), startPebble()]);
    try {
      expect(first.directoryUrl).not.toBe(second.directoryUrl);
      expect(first.dnsServer).not.toBe(second.dnsServer);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
    for (const pid of [...Object.values(first.pids), ...Object.values(second.pids)]) {
      expect(isAlive(pid)).toBe(false);
    }
  });

  it('kills the children when the parent process crashes without stop()', async () => {
    const run = startInChild('throw new Error("simulated crash");');
    const facts = await run.facts;
    await run.exited;
    expect(await eventuallyDead([facts.pebble, facts.challtestsrv])).toEqual([]);
    expect(existsSync(facts.stateDir)).toBe(false);
  });

  it('kills the children when the parent process is terminated by SIGTERM', async () => {
    const run = startInChild('setInterval(() => undefined, 1000);');
    const facts = await run.facts;
    expect(isAlive(facts.pebble)).toBe(true);
    expect(existsSync(facts.stateDir)).toBe(true);
    run.child.kill('SIGTERM');
    await run.exited;
    expect(run.child.signalCode).toBe('SIGTERM');
    expect(await eventuallyDead([facts.pebble, facts.challtestsrv])).toEqual([]);
    expect(existsSync(facts.stateDir)).toBe(false);
  });

  it('names the install command when the pebble binary is missing', async () => {
    const error = await startPebble({ binaries: { pebble: '/nonexistent/pebble' } }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('/nonexistent/pebble');
    expect((error as Error).message).toContain(PEBBLE_INSTALL_COMMAND);
    expect(PEBBLE_INSTALL_COMMAND).toBe('sudo apt-get update && sudo apt-get install -y pebble');
  });

  it('names the install command when pebble-challtestsrv is missing', async () => {
    const error = await startPebble({
      binaries: { challtestsrv: 'certloop-no-such-challtestsrv' },
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect((error as Error).message).toContain('certloop-no-such-challtestsrv');
    expect((error as Error).message).toContain(PEBBLE_INSTALL_COMMAND);
  });

  it('fails with the last output of pebble when it cannot start, and leaves nothing running', async () => {
    // A binary that starts and exits at once with a message: pebble's early failures look so.
    const error = await startPebble({
      binaries: { pebble: '/bin/false' },
      startTimeoutMs: 5_000,
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect((error as Error).message).toMatch(/pebble exited before pebble answered/);
    // challtestsrv, started first, was stopped again.
    expect(childCommands().filter((command) => command.startsWith('pebble'))).toEqual([]);
  });
});
