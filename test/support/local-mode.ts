import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CertificateRecord } from '../../src/core/certificate-record.js';
import { type CommandResult, runCertloop } from './run-logged.js';

// Local mode as a user runs it: `certloop local` with the committed example config (a
// short tick), and the `certloop` command against its state folder, both as processes.

export type { CommandResult };

export interface LocalMode {
  /** The state folder (`--state-dir`). */
  state: string;
  /** Everything the runner printed so far (for failure messages). */
  output(): string;
  /** Runs `certloop <args>` (exit code and output; never throws for a non-zero exit). */
  certloop(...args: string[]): Promise<CommandResult>;
  /** `certloop status --json` of the state folder. */
  records(): Promise<CertificateRecord[]>;
  /** Polls the records (60 s at most) until `done` holds; answers the last records. */
  waitFor(
    done: (records: CertificateRecord[]) => boolean,
    timeoutMs?: number,
  ): Promise<CertificateRecord[]>;
  stop(): Promise<void>;
}

export async function startLocalMode(options: {
  /** Names the logs (test/.logs/<name>-<pid>.log) and the temp folder. */
  name: string;
  tickIntervalSeconds?: number;
}): Promise<LocalMode> {
  const logFile = join(process.cwd(), 'test', '.logs', `${options.name}-${process.pid}.log`);
  const dir = await mkdtemp(join(tmpdir(), `certloop-${options.name}-`));
  const state = join(dir, 'state');
  const config = JSON.parse(readFileSync('examples/certloop.local.json', 'utf8'));
  const configPath = join(dir, 'config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      ...config,
      tickIntervalSeconds: options.tickIntervalSeconds ?? 2,
      stekSets: [],
    }),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    ['bin/certloop.mjs', 'local', '--config', configPath, '--state-dir', state],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    appendFileSync(logFile, chunk);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const certloop = (...args: string[]): Promise<CommandResult> =>
    runCertloop(args, {
      logName: options.name,
      env: { ...process.env, CERTLOOP_TABLE_NAME: '', CERTLOOP_ISSUERS: '' },
    });
  const records = async (): Promise<CertificateRecord[]> => {
    const result = await certloop('status', '--json', '--state-dir', state);
    if (result.code !== 0) throw new Error(`certloop status failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as CertificateRecord[];
  };
  return {
    state,
    output: () => output,
    certloop,
    records,
    async waitFor(done, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: CertificateRecord[] = [];
      while (Date.now() < deadline && child.exitCode === null) {
        if (existsSync(join(state, 'issuers.json'))) {
          last = await records();
          if (done(last)) return last;
        }
        await sleep(500);
      }
      return last;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGINT');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
