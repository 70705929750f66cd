import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { registerStekCommand } from '../../cli/stek-command.js';

// Helpers for tests that run real TLS peers (nginx, HAProxy, node:tls) on loopback.

const run = promisify(execFile);

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free loopback port'))));
    });
  });
}

/**
 * The path of a server binary (nginx, haproxy). When it is missing, the project's
 * install script runs (as `npm test` does); if it is still missing the test fails with
 * the install command, never skips.
 */
export async function findServerBinary(name: string, installHint: string): Promise<string> {
  const candidates = [`/usr/sbin/${name}`, `/usr/local/sbin/${name}`, `/usr/bin/${name}`];
  const first = async () => {
    for (const candidate of candidates) {
      try {
        await access(candidate);
        return candidate;
      } catch {}
    }
    return undefined;
  };
  let found = await first();
  if (!found) {
    await run('bash', ['scripts/ensure-test-servers.sh']).catch(() => undefined);
    found = await first();
  }
  if (!found) throw new Error(`${name} is not installed; install it with: ${installHint}`);
  return found;
}

/**
 * A self-signed P-256 certificate for localhost and 127.0.0.1: `<dir>/cert.pem` and
 * `<dir>/key.pem`.
 */
export async function makeLocalhostCertificate(
  dir: string,
  installHint: string,
): Promise<{ certPath: string; keyPath: string }> {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]).catch((error: unknown) => {
    throw new Error(
      `openssl is missing or failed; install with: ${installHint} (${String(error)})`,
    );
  });
  return { certPath, keyPath };
}

/** Waits (10 s at most) until `port` accepts connections; fails early when `child` exits. */
export async function waitForPort(
  port: number,
  child: ChildProcess,
  name: string,
  log: () => Promise<string> | string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${await log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port}: ${await log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * One `openssl s_client` connection (with `-sess_out`/`-sess_in` in `sessionArgs`), a
 * request so that a TLS 1.3 ticket arrives, and only the `New,`/`Reused,` line back:
 * the rest of the output can hold the session's master key.
 */
export async function sessionLine(
  port: number,
  protocol: string,
  sessionArgs: string[],
): Promise<string> {
  const child = spawn('openssl', [
    's_client',
    '-ign_eof',
    '-connect',
    `127.0.0.1:${port}`,
    '-servername',
    'localhost',
    protocol,
    ...sessionArgs,
  ]);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', () => undefined);
  child.stdin.end('GET / HTTP/1.0\r\nHost: localhost\r\n\r\n');
  await new Promise((resolve) => child.on('close', resolve));
  return output
    .split('\n')
    .filter((line) => /^(New|Reused),/.test(line))
    .join('\n');
}

/** Runs `certloop stek export --set web` in local mode as of `at`; returns what it printed. */
export async function exportStekWithCli(
  format: string,
  stateDir: string,
  out: string,
  at: number,
): Promise<string[]> {
  const printed: string[] = [];
  const program = new Command().exitOverride();
  registerStekCommand(program, { stdout: (text) => printed.push(text) });
  await program.parseAsync(
    [
      'stek',
      'export',
      '--set',
      'web',
      '--format',
      format,
      '--out',
      out,
      '--state-dir',
      stateDir,
      '--at',
      new Date(at).toISOString(),
    ],
    { from: 'user' },
  );
  return printed;
}
