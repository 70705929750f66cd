/**
 * `certloop stek export`: writes one export format of a STEK set for this host's web
 * server, atomically, for a timer (systemd, cron) that runs every few minutes and then
 * reloads the server. See src/core/stek-formats.ts for the byte layouts.
 *
 *   certloop stek export --set <id> --format nginx|haproxy|go|node|json --out <path>
 *                        [--aws] [--state-dir <dir>] [--at <time>]
 *
 * - AWS, when the set id is a secret ARN or `--aws` is given: the ring comes from
 *   Secrets Manager through the standard credential chain and AWS_* environment.
 * - Otherwise local mode: the ring comes from <state-dir>/secrets/stek/<set>.json
 *   (`--state-dir`, default `.certloop`, as `certloop status` and `cert export`).
 * - `--out`: a file for haproxy, go, node (48 raw bytes) and json; a folder for nginx,
 *   which gets one `stek-<serial>.key` per key plus `ssl_session_ticket_keys.conf` with
 *   the `ssl_session_ticket_key` lines in config order (include it in the server block).
 *   Key files of keys no longer in the ring are removed after the new ones are in place.
 * - Every file is written to a temp file in the same folder (0600, fsync) and renamed
 *   into place only when all of them were written: on any error nothing existing is
 *   touched and the command exits non-zero.
 * - Output: the paths written, one per line. Never key bytes.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { writeFilesAtomically } from '../src/adapters/local/directory-files.js';
import { stekStoreFor } from '../src/app/compose-stek.js';
import {
  exportGo,
  exportHaproxy,
  exportJson,
  exportNginx,
  exportNode,
  isStekExportFormat,
  STEK_EXPORT_FORMATS,
  type StekExportFormat,
} from '../src/core/stek-formats.js';
import type { StekSetStore } from '../src/ports/stek-store.js';

/** Name of the nginx include file written next to the key files. */
export const NGINX_INCLUDE_FILE = 'ssl_session_ticket_keys.conf';

export interface StekCommandIo {
  /** Where the written paths go; process.stdout by default. */
  stdout?: (text: string) => void;
  /** The time exports are computed for, when `--at` is absent. */
  now?: () => number;
  /** The ring store: `undefined` for Secrets Manager, else local mode's state folder. */
  store?: (stateDir: string | undefined) => StekSetStore;
}

interface ExportOptions {
  set: string;
  format: StekExportFormat;
  out: string;
  stateDir: string;
  aws?: boolean;
  at?: number;
}

export function registerStekCommand(program: Command, io: StekCommandIo = {}): Command {
  const stek = program.command('stek').description('session-ticket encryption keys (STEK)');
  stek
    .command('export')
    .description('write one STEK set in a web server format, atomically (prints file paths)')
    .requiredOption('--set <id>', 'STEK set id (AWS: secret name or ARN)')
    .addOption(
      new Option('--format <format>', 'export format')
        .choices([...STEK_EXPORT_FORMATS])
        .makeOptionMandatory(),
    )
    .requiredOption('--out <path>', 'file to write (nginx: folder for the key files)')
    .option('--aws', 'read Secrets Manager even for a secret name (an ARN always does)')
    .option('-s, --state-dir <dir>', 'local mode: read <dir>/secrets/stek/<set>.json', '.certloop')
    .option('--at <time>', 'export as of this ISO 8601 time or epoch ms (default: now)', parseAt)
    .action(async (options: ExportOptions) => {
      if (!isStekExportFormat(options.format)) throw new Error('unknown format');
      const paths = await exportStek(options, io);
      const write = io.stdout ?? ((text: string) => process.stdout.write(text));
      for (const path of paths) write(`${path}\n`);
    });
  return stek;
}

async function exportStek(options: ExportOptions, io: StekCommandIo): Promise<string[]> {
  const aws = options.aws === true || /^arn:aws[a-z-]*:secretsmanager:/.test(options.set);
  const stateDir = aws ? undefined : options.stateDir;
  const store = io.store
    ? io.store(stateDir)
    : stekStoreFor(
        stateDir === undefined
          ? { kind: 'secrets-manager' }
          : { kind: 'directory', root: join(resolve(stateDir), 'secrets') },
      );
  const ring = await store.read(options.set);
  if (!ring || ring.keys.length === 0) {
    throw new Error(`STEK set ${options.set} has no keys yet: run the STEK rotation first`);
  }
  const now = options.at ?? io.now?.() ?? Date.now();
  const out = resolve(options.out);

  if (options.format === 'nginx') {
    await requireFolder(out);
    const exported = exportNginx(ring, now, out);
    const files = [
      ...exported.files.map((file) => ({ path: join(out, file.fileName), data: file.bytes })),
      { path: join(out, NGINX_INCLUDE_FILE), data: `${exported.configLines.join('\n')}\n` },
    ];
    await writeFilesAtomically(files);
    const keep = new Set(exported.files.map((file) => file.fileName));
    for (const name of await readdir(out)) {
      if (/^stek-\d+\.key$/.test(name) && !keep.has(name))
        await rm(join(out, name), { force: true });
    }
    return files.map((file) => file.path);
  }

  const data: string | Uint8Array =
    options.format === 'haproxy'
      ? exportHaproxy(ring, now)
      : options.format === 'go'
        ? exportGo(ring, now)
        : options.format === 'node'
          ? exportNode(ring, now)
          : exportJson(ring, now);
  await requireFolder(dirname(out));
  await writeFilesAtomically([{ path: out, data }]);
  return [out];
}

async function requireFolder(path: string): Promise<void> {
  const found = await stat(path).catch(() => undefined);
  if (found === undefined) {
    await mkdir(path, { recursive: true, mode: 0o700 });
    return;
  }
  if (!found.isDirectory()) throw new Error(`${path} is not a folder`);
}

function parseAt(value: string): number {
  const instant = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(instant)) {
    throw new InvalidArgumentError('must be an ISO 8601 time or epoch milliseconds');
  }
  return instant;
}
