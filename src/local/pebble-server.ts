import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { constants as fsConstants, rmSync } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { makeListenerCertificate } from './listener-certificate.js';
import { OutputTail } from './output-tail.js';

export const PEBBLE_INSTALL_COMMAND = 'sudo apt-get update && sudo apt-get install -y pebble';

export interface PebbleOptions {
  /** Percentage of valid nonces pebble rejects as `badNonce` (PEBBLE_WFE_NONCEREJECT). Default 0. */
  nonceRejectPercent?: number;
  /** Where to write the listener certificate and config; a fresh dir under os.tmpdir() if absent. */
  stateDir?: string;
  /** Extra environment for the pebble process (e.g. PEBBLE_VA_ALWAYS_VALID, PEBBLE_CHAIN_LENGTH). */
  extraEnv?: Record<string, string>;
  /** Binaries to run; by default `pebble` and `pebble-challtestsrv` from PATH (or /usr/bin). */
  binaries?: { pebble?: string; challtestsrv?: string };
  /** How long to wait for both servers to answer. Default 20 s. */
  startTimeoutMs?: number;
  /** Lifetime of issued certificates in seconds (pebble's `certificateValidityPeriod`;
   * 576000 = 160 h). Default: pebble's own (5 years in pebble 2.4). */
  certificateValidityPeriod?: number;
  /**
   * External Account Binding: key id -> HMAC key (base64url). When given, pebble requires
   * a binding with every newAccount (`externalAccountBindingRequired`) and knows only
   * these keys (`externalAccountMACKeys`). Default: no binding required.
   */
  externalAccountMACKeys?: Record<string, string>;
}

export interface PebbleServer {
  /** `https://127.0.0.1:<port>/dir`. */
  directoryUrl: string;
  /** The self-signed certificate of pebble's HTTPS listener: trust it to talk to pebble. */
  listenerCaPem: string;
  /** challtestsrv management API base URL, `http://127.0.0.1:<port>`. */
  challtestsrvUrl: string;
  /** challtestsrv DNS server (the one pebble validates against), `127.0.0.1:<port>`. */
  dnsServer: string;
  /** pebble management API base URL, `https://127.0.0.1:<port>`. */
  managementUrl: string;
  /** Where the listener certificate, its key and the config are (removed or emptied on stop). */
  stateDir: string;
  /** Process ids of the children (pebble, challtestsrv), for diagnostics and tests. */
  pids: { pebble: number; challtestsrv: number };
  /** The root of pebble's (per-run, random) issuing hierarchy, PEM. */
  rootCertificatePem(): Promise<string>;
  /** Stops both processes (SIGTERM, then SIGKILL) and removes the temporary files. Idempotent. */
  stop(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';
const KILL_GRACE_MS = 2_000;

interface RunningChild {
  name: string;
  process: ChildProcess;
  tail: OutputTail;
  exited: Promise<void>;
  hasExited(): boolean;
}

// Every live child group and owned temp dir, so that the parent's exit (or a fatal
// signal) kills the children and removes the files even when stop() never ran.
const liveGroups = new Set<number>();
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function emergencyCleanup(): void {
  for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  liveGroups.clear();
  for (const dir of ownedDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort while exiting.
    }
  }
  ownedDirs.clear();
}

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
  process.on('exit', emergencyCleanup);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      emergencyCleanup();
      // If nobody else handles the signal, keep its default meaning (terminate).
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

function missingBinaryError(name: string, looked: string): Error {
  return new Error(
    `${name} is not installed or not executable (looked for ${looked}). ` +
      `Install it with: ${PEBBLE_INSTALL_COMMAND}`,
  );
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function resolveBinary(configured: string | undefined, name: string): Promise<string> {
  if (configured !== undefined) {
    if (isAbsolute(configured) || configured.includes('/')) {
      if (await isExecutable(configured)) return configured;
      throw missingBinaryError(name, configured);
    }
    name = configured;
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  throw missingBinaryError(name, `${name} in PATH and /usr/bin`);
}

/** A loopback port that is free for TCP (and for UDP too when `udp` is set). */
async function freePort(udp = false): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, LOOPBACK, () => {
        const address = server.address();
        const found = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(found));
      });
    });
    if (!udp) return port;
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, LOOPBACK, () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('could not find a free loopback port for TCP and UDP');
}

function spawnChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(command, args, {
    detached: true, // own process group: stop() and the exit hook kill the whole group
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  const tail = new OutputTail();
  child.stdout?.on('data', (chunk: Buffer) => tail.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      resolve();
    });
    child.once('error', (error) => {
      tail.push(`spawn error: ${error.message}\n`);
      exited = true;
      resolve();
    });
  });
  if (child.pid !== undefined) liveGroups.add(child.pid);
  const running: RunningChild = {
    name,
    process: child,
    tail,
    exited: exitPromise,
    hasExited: () => exited || child.exitCode !== null || child.signalCode !== null,
  };
  return running;
}

async function stopChild(child: RunningChild): Promise<void> {
  const pid = child.process.pid;
  if (pid === undefined || child.hasExited()) {
    if (pid !== undefined) killGroup(pid, 'SIGKILL'); // leftovers of the group, if any
    return;
  }
  killGroup(pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), KILL_GRACE_MS);
  });
  const outcome = await Promise.race([child.exited.then(() => 'exited' as const), graceOver]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    killGroup(pid, 'SIGKILL');
    await child.exited;
  }
  liveGroups.delete(pid);
}

interface HttpAnswer {
  status: number;
  body: string;
}

function get(url: string, caPem?: string, method = 'GET', body?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const options = {
      method,
      timeout: 2_000,
      ...(caPem === undefined ? {} : { ca: caPem }),
    };
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function waitUntil(
  what: string,
  children: RunningChild[],
  deadline: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  let lastError = '';
  for (;;) {
    for (const child of children) {
      if (child.hasExited()) {
        throw new Error(
          `${child.name} exited before ${what} answered.\nLast output of ${child.name}:\n${child.tail.text()}`,
        );
      }
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      const tails = children
        .map((child) => `Last output of ${child.name}:\n${child.tail.text()}`)
        .join('\n');
      throw new Error(
        `${what} did not answer in time${lastError ? ` (last error: ${lastError})` : ''}.\n${tails}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts pebble-challtestsrv (DNS for validation) and pebble (the ACME CA) on free
 * loopback ports and waits until both answer. The caller must `stop()` the result;
 * if the process exits first, the children are killed by an exit hook.
 */
export async function startPebble(options: PebbleOptions = {}): Promise<PebbleServer> {
  const pebbleBin = await resolveBinary(options.binaries?.pebble, 'pebble');
  const challtestsrvBin = await resolveBinary(
    options.binaries?.challtestsrv,
    'pebble-challtestsrv',
  );
  const nonceReject = options.nonceRejectPercent ?? 0;
  if (!Number.isInteger(nonceReject) || nonceReject < 0 || nonceReject > 100) {
    throw new RangeError('nonceRejectPercent must be an integer from 0 to 100');
  }
  const validity = options.certificateValidityPeriod;
  if (validity !== undefined && (!Number.isInteger(validity) || validity < 1)) {
    throw new RangeError('certificateValidityPeriod must be a positive whole number of seconds');
  }
  installExitHook();

  const ownsDir = options.stateDir === undefined;
  const dir =
    options.stateDir === undefined
      ? await mkdtemp(join(tmpdir(), 'certloop-pebble-'))
      : options.stateDir;
  if (ownsDir) ownedDirs.add(dir);
  else await mkdir(dir, { recursive: true });
  const configPath = join(dir, 'pebble-config.json');
  const written: string[] = [];
  const children: RunningChild[] = [];

  const cleanupFiles = async () => {
    if (ownsDir) {
      await rm(dir, { recursive: true, force: true });
      ownedDirs.delete(dir);
    } else await Promise.all(written.map((file) => rm(file, { force: true })));
  };

  try {
    const { certPath, keyPath } = await makeListenerCertificate(dir, "pebble's");
    written.push(certPath, keyPath);
    const listenerCaPem = await readFile(certPath, 'utf8');
    const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);

    const dnsPort = await freePort(true);
    const challMgmtPort = await freePort();
    const challtestsrv = spawnChild(
      'pebble-challtestsrv',
      challtestsrvBin,
      [
        '-dns01',
        `${LOOPBACK}:${dnsPort}`,
        '-management',
        `${LOOPBACK}:${challMgmtPort}`,
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-defaultIPv4',
        LOOPBACK,
        '-defaultIPv6',
        '',
      ],
      process.env,
    );
    children.push(challtestsrv);
    const challtestsrvUrl = `http://${LOOPBACK}:${challMgmtPort}`;
    // clear-txt of a name nobody set answers 200: a side-effect-free liveness probe.
    await waitUntil('pebble-challtestsrv', [challtestsrv], deadline, async () => {
      const answer = await get(
        `${challtestsrvUrl}/clear-txt`,
        undefined,
        'POST',
        JSON.stringify({ host: 'certloop-liveness-probe.invalid.' }),
      );
      return answer.status === 200;
    });

    const listenPort = await freePort();
    const managementPort = await freePort();
    const config = {
      pebble: {
        listenAddress: `${LOOPBACK}:${listenPort}`,
        managementListenAddress: `${LOOPBACK}:${managementPort}`,
        certificate: certPath,
        privateKey: keyPath,
        // Ports pebble's VA would dial for http-01 / tls-alpn-01; certloop only uses dns-01.
        httpPort: 5002,
        tlsPort: 5001,
        ocspResponderURL: '',
        externalAccountBindingRequired: options.externalAccountMACKeys !== undefined,
        ...(options.externalAccountMACKeys === undefined
          ? {}
          : { externalAccountMACKeys: options.externalAccountMACKeys }),
        ...(validity === undefined ? {} : { certificateValidityPeriod: validity }),
      },
    };
    await writeFile(configPath, JSON.stringify(config, null, 2));
    written.push(configPath);

    const pebble = spawnChild(
      'pebble',
      pebbleBin,
      // Go's flag package needs `-strict=false`: a separate `false` would end flag parsing.
      ['-config', configPath, '-dnsserver', `${LOOPBACK}:${dnsPort}`, '-strict=false'],
      {
        ...process.env,
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: String(nonceReject),
        PEBBLE_AUTHZREUSE: '0',
        ...options.extraEnv,
      },
    );
    children.push(pebble);
    const directoryUrl = `https://${LOOPBACK}:${listenPort}/dir`;
    await waitUntil('pebble', [challtestsrv, pebble], deadline, async () => {
      const answer = await get(directoryUrl, listenerCaPem);
      return answer.status === 200 && answer.body.includes('newOrder');
    });

    const managementUrl = `https://${LOOPBACK}:${managementPort}`;
    let stopping: Promise<void> | undefined;
    return {
      directoryUrl,
      listenerCaPem,
      challtestsrvUrl,
      dnsServer: `${LOOPBACK}:${dnsPort}`,
      managementUrl,
      stateDir: dir,
      pids: { pebble: pebble.process.pid ?? -1, challtestsrv: challtestsrv.process.pid ?? -1 },
      async rootCertificatePem() {
        const answer = await get(`${managementUrl}/roots/0`, listenerCaPem);
        if (answer.status !== 200 || !answer.body.includes('BEGIN CERTIFICATE')) {
          throw new Error(`pebble management /roots/0 answered HTTP ${answer.status}`);
        }
        return answer.body;
      },
      stop() {
        stopping ??= (async () => {
          await stopChild(pebble);
          await stopChild(challtestsrv);
          await cleanupFiles();
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const child of children.reverse()) await stopChild(child);
    await cleanupFiles();
    throw error;
  }
}
