/**
 * `certloop cert export`: writes a managed certificate and its key into a folder for a
 * host's server (nginx, haproxy, Java), for a timer (systemd, cron) or a container's start.
 *
 *   certloop cert export --secret <id> --out <dir> [--format pem|pkcs12]
 *                        [--passphrase-file <file>] [--on-change <command>]
 *                        [--aws] [--state-dir <dir>]
 *
 * - Source: Secrets Manager (AWSCURRENT; standard credential chain and AWS_* environment)
 *   when the id is a secret ARN or `--aws` is given; otherwise local mode's state folder
 *   (`--state-dir`, default `.certloop`, as `certloop status`).
 * - Layout and atomicity: src/adapters/local/certificate-export.ts (the pair changes in
 *   one rename; the stable names are links through `live`).
 * - Nothing new (same serial, same format): no file is touched and no command runs.
 * - `--on-change`: run with `sh -c` after a change only; if it fails, the command exits
 *   non-zero and the next run runs it again (the export itself stays new).
 * - Output: the paths written, one per line. Never key material. Exit non-zero on any
 *   problem, leaving the old export in place.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Command, Option } from 'commander';
import { SecretsManagerCertificates } from '../src/adapters/aws/secrets-manager-certificates.js';
import {
  CERTIFICATE_EXPORT_FORMATS,
  CertificateExportFolder,
  type CertificateExportFormat,
} from '../src/adapters/local/certificate-export.js';
import { DirectoryCertificates } from '../src/adapters/local/directory-certificates.js';
import type { CertificateSecrets } from '../src/ports/secret-store.js';

export interface CertCommandIo {
  stdout?: (text: string) => void;
  /** The certificate store; by default Secrets Manager or the local state folder. */
  store?: (source: { aws: true } | { stateDir: string }) => CertificateSecrets;
}

interface ExportFlags {
  secret: string;
  out: string;
  format: CertificateExportFormat;
  passphraseFile?: string;
  onChange?: string;
  aws?: boolean;
  stateDir: string;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:/;

export function registerCertCommand(program: Command, io: CertCommandIo = {}): Command {
  const cert = program.command('cert').description('managed certificates on this host');
  cert
    .command('export')
    .description('write a certificate and its key for a server, as one change (prints file paths)')
    .requiredOption('--secret <id>', 'the certificate: secret ARN (AWS) or local-mode name')
    .requiredOption('--out <dir>', 'folder to write into (created 0700 if missing)')
    .addOption(
      new Option(
        '--format <format>',
        'pem: fullchain/cert/chain/privkey.pem; pkcs12: certificate.p12',
      )
        .choices([...CERTIFICATE_EXPORT_FORMATS])
        .default('pem'),
    )
    .option('--passphrase-file <file>', 'pkcs12: file whose first line is the passphrase')
    .option(
      '--on-change <command>',
      'run with sh -c after the export changed (e.g. "nginx -s reload")',
    )
    .option('--aws', 'read Secrets Manager even for a secret name (an ARN always does)')
    .option('-s, --state-dir <dir>', 'local mode state folder', '.certloop')
    .action(async (flags: ExportFlags) => {
      const write = io.stdout ?? ((text: string) => process.stdout.write(text));
      const { paths, problem } = await exportCertificate(flags, io);
      for (const path of paths) write(`${path}\n`);
      if (problem) throw problem;
    });
  return cert;
}

/** The paths written, and the --on-change failure to report after printing them. */
async function exportCertificate(
  flags: ExportFlags,
  io: CertCommandIo,
): Promise<{ paths: string[]; problem?: Error }> {
  if (flags.format === 'pkcs12' && !flags.passphraseFile) {
    throw new Error('--format pkcs12 needs --passphrase-file <file>');
  }
  const aws = flags.aws === true || SECRET_ARN.test(flags.secret);
  const source: { aws: true } | { stateDir: string } = aws
    ? { aws: true }
    : { stateDir: resolve(flags.stateDir) };
  const store = io.store ? io.store(source) : defaultStore(source);
  const bundle = await store.readCertificate(flags.secret);
  if (!bundle) {
    throw new Error(
      aws
        ? `secret ${flags.secret} holds no certificate yet (AWSCURRENT is empty)`
        : `no certificate ${flags.secret} in local state ${flags.stateDir} (for Secrets Manager give the secret ARN or --aws)`,
    );
  }
  const folder = new CertificateExportFolder(resolve(flags.out));
  let paths: string[] = [];
  if (!(await folder.isCurrent(flags.secret, bundle, flags.format))) {
    paths = await folder.write(flags.secret, bundle, {
      format: flags.format,
      ...(flags.passphraseFile ? { passphraseFile: resolve(flags.passphraseFile) } : {}),
    });
  }
  if (flags.onChange === undefined) {
    if (paths.length > 0) await folder.onChangeDone();
    return { paths };
  }
  if (await folder.onChangePending()) {
    const code = await runShell(flags.onChange);
    if (code !== 0) {
      const problem = new Error(
        `--on-change command exited with ${code}; the export is written and the command runs again next time`,
      );
      return { paths, problem };
    }
    await folder.onChangeDone();
  }
  return { paths };
}

function defaultStore(source: { aws: true } | { stateDir: string }): CertificateSecrets {
  return 'aws' in source
    ? new SecretsManagerCertificates(new SecretsManagerClient({}))
    : new DirectoryCertificates(join(source.stateDir, 'secrets'));
}

function runShell(command: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    // The command's own output goes to stderr: stdout carries only the paths written.
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', process.stderr, 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise(code ?? 1));
  });
}
