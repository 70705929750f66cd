// moto in server mode (`moto_server`, Python package moto[server]) as a real Secrets
// Manager / tagging API peer for tests. One server per caller on a free loopback port,
// killed on stop() and, as a last resort, when this process exits.
import { type ChildProcess, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { request } from 'node:http';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { freeLoopbackPort } from './tls-peers.js';

export const MOTO_INSTALL_COMMAND = "pip install 'moto[server]>=5.2'";

export interface MotoServer {
  /** `http://127.0.0.1:<port>`, for AWS_ENDPOINT_URL. */
  endpoint: string;
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL). Idempotent. */
  stop(): Promise<void>;
}

export interface MotoOptions {
  /** How long to wait for the server to answer. Default 20 s. */
  startTimeoutMs?: number;
  /** The executable to run; `moto_server` from PATH by default. */
  binary?: string;
}

const LOOPBACK = '127.0.0.1';
const TAIL_LINES = 20;
const KILL_GRACE_MS = 2_000;

// Process groups of running servers, killed when this process exits.
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
      liveGroups.clear();
      // Keep the signal's default meaning when nobody else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

async function findBinary(name: string): Promise<string> {
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  throw new Error(
    `${name} was not found on PATH, so the Secrets Manager tests cannot run. ` +
      `Install it with: ${MOTO_INSTALL_COMMAND}`,
  );
}

/** Keeps the last lines a child printed, for error messages. */
function outputTail(child: ChildProcess): () => string {
  const lines: string[] = [];
  let partial = '';
  const push = (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > TAIL_LINES) lines.splice(0, lines.length - TAIL_LINES);
  };
  child.stdout?.on('data', push);
  child.stderr?.on('data', push);
  return () => [...lines, partial].filter(Boolean).join('\n');
}

function call(url: string, method: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts `moto_server -H 127.0.0.1 -p <free port>` and waits until it answers. Throws
 * (never skips) when moto_server is missing, with the command that installs it.
 */
export async function startMoto(options: MotoOptions = {}): Promise<MotoServer> {
  const binary = await findBinary(options.binary ?? 'moto_server');
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  installExitHook();

  const port = await freeLoopbackPort();
  const endpoint = `http://${LOOPBACK}:${port}`;
  const child = spawn(binary, ['-H', LOOPBACK, '-p', String(port)], {
    detached: true, // its own process group, so stop() also reaches a wrapper's children
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  const tail = outputTail(child);
  let exited = false;
  let spawnError: Error | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (error) => {
      spawnError = error;
      exited = true;
      resolve();
    });
  });
  const pid = child.pid;
  if (pid !== undefined) liveGroups.add(pid);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (pid === undefined) return;
      if (!exited) {
        killGroup(pid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), KILL_GRACE_MS);
        });
        const outcome = await Promise.race([exit.then(() => 'exited' as const), graceOver]);
        clearTimeout(timer);
        if (outcome === 'late') {
          killGroup(pid, 'SIGKILL');
          await exit;
        }
      }
      killGroup(pid, 'SIGKILL'); // leftovers of the group, if any
      liveGroups.delete(pid);
    })();
    return stopping;
  };

  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    if (exited) {
      await stop();
      const reason = spawnError ? ` (${spawnError.message})` : '';
      throw new Error(
        `moto_server exited before it answered${reason}. Is moto[server] installed for this ` +
          `Python? Install it with: ${MOTO_INSTALL_COMMAND}\nLast output:\n${tail()}`,
      );
    }
    try {
      const status = await call(`${endpoint}/moto-api/`, 'GET');
      if (status > 0 && status < 500) break;
      lastError = `HTTP ${status}`;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `moto_server did not answer on ${endpoint} within ${timeoutMs} ms ` +
          `(last error: ${lastError}).\nLast output:\n${tail()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    endpoint,
    async reset() {
      const status = await call(`${endpoint}/moto-api/reset`, 'POST');
      if (status !== 200) throw new Error(`moto reset answered HTTP ${status}`);
    },
    stop,
  };
}

export interface MotoEnv {
  /** The moto endpoint, also placed in AWS_ENDPOINT_URL. */
  endpoint: string;
  /** Forgets every resource on the server. */
  reset(): Promise<void>;
  /** Stops moto and restores the environment. */
  teardown(): Promise<void>;
}

const ENV = {
  AWS_ENDPOINT_URL: undefined as string | undefined,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'certloop-test-access-key',
  AWS_SECRET_ACCESS_KEY: 'certloop-test-secret-key',
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
  // Service-specific endpoints would win over AWS_ENDPOINT_URL.
  AWS_ENDPOINT_URL_SECRETS_MANAGER: undefined,
  AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: undefined,
  AWS_ENDPOINT_URL_ROUTE_53: undefined,
  AWS_ENDPOINT_URL_SQS: undefined,
  AWS_ENDPOINT_URL_ACM: undefined,
  AWS_ENDPOINT_URL_EVENTBRIDGE: undefined,
} satisfies Record<string, string | undefined>;

/**
 * Starts moto and points the standard AWS environment at it, the way production points
 * the SDK at AWS: region and credentials from the environment, the endpoint from
 * AWS_ENDPOINT_URL. Clients built afterwards without an explicit endpoint talk to moto.
 * Test files run in their own processes, so changing process.env touches no other file.
 */
export async function useMotoEnv(options: MotoOptions = {}): Promise<MotoEnv> {
  const server = await startMoto(options);
  const saved = new Map<string, string | undefined>();
  const wanted: Record<string, string | undefined> = { ...ENV, AWS_ENDPOINT_URL: server.endpoint };
  for (const [name, value] of Object.entries(wanted)) {
    saved.set(name, process.env[name]);
    setEnv(name, value);
  }
  return {
    endpoint: server.endpoint,
    reset: () => server.reset(),
    async teardown() {
      await server.stop();
      for (const [name, value] of saved) setEnv(name, value);
    },
  };
}

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/**
 * moto for the tests of the enclosing `describe`: started before them, stopped after.
 * Returns a function that gives the environment with its state reset, for a fixture
 * to call at the start of each test.
 */
export function freshMotoPerTest(options: MotoOptions = {}): () => Promise<MotoEnv> {
  let moto: MotoEnv | undefined;
  beforeAll(async () => {
    moto = await useMotoEnv(options);
  });
  afterAll(async () => {
    await moto?.teardown();
  });
  return async () => {
    if (!moto) throw new Error('moto did not start');
    await moto.reset();
    return moto;
  };
}
