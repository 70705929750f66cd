/**
 * A certificate exported for a host's server (`certloop cert export`), in a folder the
 * server reads:
 *
 *   <out>/fullchain.pem, cert.pem, chain.pem, privkey.pem -> live/<same name>  (PEM)
 *   <out>/certificate.p12                                  -> live/certificate.p12 (PKCS#12)
 *   <out>/live -> .versions/<serial>-<format>
 *   <out>/.versions/<serial>-<format>/ the files (certificates 0644, keys 0600) + export.json
 *
 * A new pair is written complete into its own version folder, then `live` is swapped in
 * one rename, so the certificate and its key change together: a reader resolving `live`
 * sees the old pair or the new one, never a new certificate with an old key. The stable
 * names at the top are links through `live`, created once. The version before the swap is
 * kept (a server still reading it is not cut off); older ones are removed. On any error
 * before the swap nothing a server reads has changed.
 *
 * `export.json` holds the serial, names, validity and secret id (never key material); it
 * is how a later run knows the export is already current.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, readlink, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CertloopError } from '../../core/errors.js';
import type { CertificateBundle } from '../../ports/secret-store.js';
import {
  DIRECTORY_SOURCE,
  exists,
  guard,
  hasCode,
  makeDirectory,
  pointLinkAt,
  removeQuietly,
  syncDirectory,
  TEMP_PREFIX,
  tempName,
  writeFileDurably,
} from './directory-files.js';

export const CERTIFICATE_EXPORT_FORMATS = ['pem', 'pkcs12'] as const;
export type CertificateExportFormat = (typeof CERTIFICATE_EXPORT_FORMATS)[number];

const FILES: Record<CertificateExportFormat, readonly string[]> = {
  pem: ['fullchain.pem', 'cert.pem', 'chain.pem', 'privkey.pem'],
  pkcs12: ['certificate.p12'],
};
const METADATA_FILE = 'export.json';
const VERSIONS = '.versions';
const LIVE = 'live';
/** Present while an `--on-change` command has not yet succeeded for the live version. */
const ON_CHANGE_PENDING = '.on-change-pending';

/** What export.json holds: enough to tell whether the export is current. No key. */
export interface ExportMetadata {
  secretId: string;
  serial: string;
  format: CertificateExportFormat;
  domains: string[];
  notBefore: string;
  notAfter: string;
}

export interface ExportOptions {
  format: CertificateExportFormat;
  /** PKCS#12 only: the file whose first line is the passphrase (`openssl -passout file:`). */
  passphraseFile?: string;
}

export class CertificateExportFolder {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The metadata of the live export, or undefined when there is none yet. */
  async live(): Promise<ExportMetadata | undefined> {
    const path = join(this.dir, LIVE, METADATA_FILE);
    try {
      return JSON.parse(await readFile(path, 'utf8')) as ExportMetadata;
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return undefined;
      throw new CertloopError('infrastructure', `cannot read ${path}: not a certloop export`, {
        source: DIRECTORY_SOURCE,
      });
    }
  }

  /** Whether the live export is `bundle`'s certificate in `format`. */
  async isCurrent(secretId: string, bundle: CertificateBundle, format: CertificateExportFormat) {
    const live = await this.live();
    return live?.serial === bundle.serial && live.format === format && live.secretId === secretId;
  }

  /**
   * Writes `bundle` as a new version and swaps `live` to it. Returns the stable paths a
   * server reads. Marks the change as needing its `--on-change` command until
   * `onChangeDone` is called.
   */
  async write(secretId: string, bundle: CertificateBundle, options: ExportOptions) {
    const versions = join(this.dir, VERSIONS);
    await makeDirectory(versions);
    const version = `${bundle.serial}-${options.format}`;
    const versionDir = join(versions, version);
    const temp = join(versions, tempName());
    await makeDirectory(temp);
    try {
      await this.#writeVersion(temp, secretId, bundle, options);
      // A folder of this name is not live (the caller checked): a crashed run's leftover.
      await guard('replace', versionDir, () => rm(versionDir, { recursive: true, force: true }));
      await guard('rename', versionDir, () => rename(temp, versionDir));
      await syncDirectory(versions);
    } finally {
      await removeQuietly(temp);
    }
    const before = await readlink(join(this.dir, LIVE)).catch(() => undefined);
    await writeFileDurablyOver(join(this.dir, ON_CHANGE_PENDING), `${version}\n`);
    await pointLinkAt(join(this.dir, LIVE), `${VERSIONS}/${version}`);
    const paths: string[] = [];
    for (const name of FILES[options.format]) {
      const path = join(this.dir, name);
      const target = `${LIVE}/${name}`;
      if ((await readlink(path).catch(() => undefined)) !== target) {
        await pointLinkAt(path, target);
      }
      paths.push(path);
    }
    await syncDirectory(this.dir);
    await this.#prune(new Set([version, ...(before ? [before.replace(`${VERSIONS}/`, '')] : [])]));
    return paths;
  }

  /** Whether an `--on-change` command is still owed for the live version. */
  onChangePending(): Promise<boolean> {
    return exists(join(this.dir, ON_CHANGE_PENDING));
  }

  async onChangeDone(): Promise<void> {
    await guard('remove', join(this.dir, ON_CHANGE_PENDING), () =>
      rm(join(this.dir, ON_CHANGE_PENDING), { force: true }),
    );
  }

  async #writeVersion(
    dir: string,
    secretId: string,
    bundle: CertificateBundle,
    options: ExportOptions,
  ): Promise<void> {
    const metadata: ExportMetadata = {
      secretId,
      serial: bundle.serial,
      format: options.format,
      domains: [...bundle.domains],
      notBefore: bundle.notBefore,
      notAfter: bundle.notAfter,
    };
    if (options.format === 'pem') {
      await writeFileDurably(join(dir, 'fullchain.pem'), bundle.fullchain, 0o644);
      await writeFileDurably(join(dir, 'cert.pem'), bundle.certificate, 0o644);
      await writeFileDurably(join(dir, 'chain.pem'), bundle.chain, 0o644);
      await writeFileDurably(join(dir, 'privkey.pem'), bundle.privateKey.reveal(), 0o600);
    } else {
      if (!options.passphraseFile) {
        throw new CertloopError('permanent', 'the pkcs12 format needs --passphrase-file', {
          source: DIRECTORY_SOURCE,
        });
      }
      await writePkcs12(dir, bundle, options.passphraseFile);
    }
    await writeFileDurably(
      join(dir, METADATA_FILE),
      `${JSON.stringify(metadata, null, 2)}\n`,
      0o644,
    );
  }

  async #prune(keep: ReadonlySet<string>): Promise<void> {
    const versions = join(this.dir, VERSIONS);
    for (const entry of await guard('list', versions, () => readdir(versions))) {
      if (keep.has(entry) || entry.startsWith(TEMP_PREFIX)) continue;
      await guard('remove', join(versions, entry), () =>
        rm(join(versions, entry), { recursive: true, force: true }),
      );
    }
  }
}

async function writeFileDurablyOver(path: string, data: string): Promise<void> {
  await rm(path, { force: true });
  await writeFileDurably(path, data, 0o600);
}

/**
 * PKCS#12 through the host's `openssl pkcs12 -export` (Node has no PKCS#12 writer, and
 * the JavaScript ones handle RSA keys only). The key goes in through a 0600 file in the
 * temp version folder, removed before the folder is renamed in; the passphrase is read
 * by openssl from its file. OpenSSL 3 writes AES-256/PBKDF2 (Java 8u301+, Windows Server
 * 2019+ read it).
 */
async function writePkcs12(dir: string, bundle: CertificateBundle, passphraseFile: string) {
  const keyFile = join(dir, 'privkey.pem');
  const chainFile = join(dir, 'fullchain.pem');
  await writeFileDurably(keyFile, bundle.privateKey.reveal(), 0o600);
  await writeFileDurably(chainFile, bundle.fullchain, 0o600);
  try {
    const out = join(dir, 'certificate.p12');
    const args = ['pkcs12', '-export', '-in', chainFile, '-inkey', keyFile, '-out', out];
    args.push('-passout', `file:${passphraseFile}`, '-name', bundle.domains[0] ?? bundle.serial);
    const { code, stderr } = await run('openssl', args);
    if (code !== 0) {
      // openssl's message names files and reasons, never key bytes.
      throw new CertloopError(
        'permanent',
        `openssl pkcs12 failed (exit ${code}): ${stderr.trim().split('\n')[0] ?? ''}`,
        { source: DIRECTORY_SOURCE },
      );
    }
  } finally {
    await rm(keyFile, { force: true });
    await rm(chainFile, { force: true });
  }
}

function run(command: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new CertloopError(
          'permanent',
          error.code === 'ENOENT'
            ? `${command} is not installed; the pkcs12 format needs it (apt-get install openssl)`
            : `cannot run ${command}: ${error.message}`,
          { source: DIRECTORY_SOURCE },
        ),
      ),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
}
