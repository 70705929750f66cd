import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findServerBinary, freeLoopbackPort, waitForPort } from './tls-peers.js';

// A real nginx on loopback for tests that check what a server serves: one TLS server
// block, its files under its own prefix, the certificate and key from the paths given.

export const NGINX_INSTALL =
  'bash scripts/ensure-test-servers.sh (or: apt-get update && apt-get install -y nginx openssl)';

export interface RunningNginx {
  port: number;
  binary: string;
  /** Shell text that reloads this nginx (`nginx -s reload` with its prefix and config). */
  reloadCommand: string;
  stop(): Promise<void>;
}

export async function startNginx(options: {
  prefix: string;
  certificate: string;
  key: string;
  /** More lines for the server block (session tickets, protocols). */
  serverLines?: string[];
}): Promise<RunningNginx> {
  const binary = await findServerBinary('nginx', NGINX_INSTALL);
  const { prefix } = options;
  await mkdir(join(prefix, 'logs'), { recursive: true });
  const port = await freeLoopbackPort();
  const config = join(prefix, 'nginx.conf');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((kind) => `  ${kind}_temp_path ${prefix}/tmp-${kind};`)
    .join('\n');
  const extra = (options.serverLines ?? []).map((line) => `    ${line}`).join('\n');
  await writeFile(
    config,
    `worker_processes 1;
error_log ${prefix}/logs/error.log;
pid ${prefix}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
${temp}
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${options.certificate};
    ssl_certificate_key ${options.key};
${extra}
    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  const child: ChildProcess = spawn(binary, ['-p', prefix, '-c', config, '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  await waitForPort(port, child, 'nginx', () =>
    readFile(join(prefix, 'logs', 'error.log'), 'utf8').catch(() => ''),
  );
  return {
    port,
    binary,
    reloadCommand: `${binary} -p ${prefix} -c ${config} -s reload`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const closed = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await closed;
    },
  };
}

/** The serial (upper-case hex) of the certificate a TLS server presents, through openssl s_client. */
export async function servedSerial(port: number, servername = 'localhost'): Promise<string> {
  const child = spawn('openssl', [
    's_client',
    '-connect',
    `127.0.0.1:${port}`,
    '-servername',
    servername,
  ]);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', () => undefined);
  child.stdin.end();
  await new Promise((resolve) => child.on('close', resolve));
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(output)?.[0];
  if (!pem) throw new Error(`openssl s_client printed no certificate for 127.0.0.1:${port}`);
  return new X509Certificate(pem).serialNumber.toUpperCase();
}

/** Polls `read` (10 s at most) until it answers `expected`; answers the last value. */
export async function eventually(read: () => Promise<string>, expected: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (value === expected || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
