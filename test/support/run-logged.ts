// Runs a Node process (usually the `certloop` command, as a user would run it) and answers
// its exit code and output instead of throwing. Everything it printed is appended to a
// file in test/.logs, so the audit project's key-material scan reads it too.
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunLoggedOptions {
  /** Names the log file: test/.logs/<logName>-<pid>.log. */
  logName: string;
  /** The process environment; default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** @default 60_000 */
  timeout?: number;
}

/** `node <args>` in the repository root. */
export async function runNodeLogged(
  args: readonly string[],
  options: RunLoggedOptions,
): Promise<CommandResult> {
  const logDir = join(process.cwd(), 'test', '.logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${options.logName}-${process.pid}.log`);
  try {
    const { stdout, stderr } = await run(process.execPath, [...args], {
      cwd: process.cwd(),
      env: options.env ?? process.env,
      timeout: options.timeout ?? 60_000,
    });
    appendFileSync(logFile, stdout + stderr);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    appendFileSync(logFile, `${failed.stdout ?? ''}${failed.stderr ?? ''}`);
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** `certloop <args>` through bin/certloop.mjs, as a user runs it. */
export function runCertloop(
  args: readonly string[],
  options: RunLoggedOptions,
): Promise<CommandResult> {
  return runNodeLogged(['bin/certloop.mjs', ...args], options);
}
