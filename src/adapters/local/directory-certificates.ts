/**
 * Certificates in the local-mode directory store:
 *
 *   <root>/certs/<name>/current  -> symlink to versions/<v>  (relative target)
 *   <root>/certs/<name>/previous -> symlink to versions/<v>
 *   <root>/certs/<name>/versions/<v>/ fullchain.pem, cert.pem, chain.pem (0644),
 *                                     privkey.pem (0600), cert.json (metadata, no key)
 *
 * `<name>` is the secret id and `<v>` the idempotency token, both through `toFolderName`.
 * A version is written complete under a temp name and renamed in before `previous` and
 * then `current` are swapped (new link renamed over the old), so `current` never points
 * at a half-written pair. A token whose version is current or previous, or whose folder
 * exists from a crashed call, answers `{ created: false }` (the crashed call's swap is
 * finished). Writes to one secret are serialized within the instance.
 */
import { lstat, mkdir, readdir, readFile, readlink, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CertloopError } from '../../core/errors.js';
import { isKeyType } from '../../core/key-type.js';
import { iso } from '../../core/time.js';
import type { Clock } from '../../ports/clock.js';
import {
  bundleDetails,
  type CertificateBundle,
  type CertificateSecrets,
  type CertificateWrite,
  type SecretStage,
} from '../../ports/secret-store.js';
import {
  causeOf,
  DIRECTORY_SOURCE,
  exists,
  fileError,
  guard,
  hasCode,
  makeDirectory,
  pointLinkAt,
  removeQuietly,
  syncDirectory,
  TEMP_PREFIX,
  tempName,
  toFolderName,
  toKeyMaterial,
  writeFileDurably,
} from './directory-files.js';

/** Temp folders older than this are a crashed writer's leftovers. */
const STALE_TEMP_MS = 10 * 60 * 1000;
/** How often a reader re-resolves a link whose version was pruned under it. */
const READ_ATTEMPTS = 5;
const STAGES: readonly SecretStage[] = ['current', 'previous'];

/** Metadata stored in cert.json: every bundle field except the PEMs. */
interface StoredMetadata {
  domains: string[];
  serial: string;
  notBefore: string;
  notAfter: string;
  issuer: string;
  keyType: CertificateBundle['keyType'];
  idempotencyToken: string;
  writtenAt: string;
}

export class DirectoryCertificates implements CertificateSecrets {
  readonly #root: string;
  readonly #clock: Clock | undefined;
  readonly #writeQueues = new Map<string, Promise<void>>();

  constructor(root: string, clock?: Clock) {
    this.#root = root;
    this.#clock = clock;
  }

  /** `<root>/certs/<name>`: where the `current` and `previous` links of a secret live. */
  certificateDirectory(secretId: string): string {
    return join(this.#root, 'certs', toFolderName(secretId));
  }

  async writeCertificate(
    secretId: string,
    bundle: CertificateBundle,
    idempotencyToken: string,
  ): Promise<CertificateWrite> {
    const certDir = this.certificateDirectory(secretId);
    const version = toFolderName(idempotencyToken, 'idempotency token');
    return this.#serialized(certDir, () =>
      this.#publish(certDir, version, bundle, idempotencyToken),
    );
  }

  /**
   * Resolves the stage's link once and reads every file from the resolved version
   * folder; a file missing there means the version was pruned meanwhile: resolve again.
   */
  async readCertificate(
    secretId: string,
    stage: SecretStage = 'current',
  ): Promise<CertificateBundle | undefined> {
    if (!STAGES.includes(stage)) {
      throw new CertloopError('permanent', 'The stage must be current or previous', {
        source: DIRECTORY_SOURCE,
      });
    }
    const certDir = this.certificateDirectory(secretId);
    for (let attempt = 1; ; attempt += 1) {
      const version = await linkTarget(certDir, stage);
      if (version === undefined) return undefined;
      try {
        return await readVersion(join(certDir, 'versions', version));
      } catch (error) {
        // Pruned between resolving the link and reading: two newer versions were
        // published meanwhile, so the link points elsewhere now. Resolve again.
        if (!hasCode(causeOf(error), 'ENOENT') || attempt >= READ_ATTEMPTS) throw error;
      }
    }
  }

  /** Runs `task` after every earlier write to the same secret has settled. */
  #serialized<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.#writeQueues.get(key) ?? Promise.resolve();
    const result = before.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#writeQueues.set(key, tail);
    void tail.then(() => {
      if (this.#writeQueues.get(key) === tail) this.#writeQueues.delete(key);
    });
    return result;
  }

  async #publish(
    certDir: string,
    version: string,
    bundle: CertificateBundle,
    idempotencyToken: string,
  ): Promise<CertificateWrite> {
    const versionsDir = join(certDir, 'versions');
    await makeDirectory(versionsDir);
    const current = await linkTarget(certDir, 'current');
    const previous = await linkTarget(certDir, 'previous');
    // Already published (now or before the current one): never roll back.
    if (current === version || previous === version) return { created: false, versionId: version };

    const versionDir = join(versionsDir, version);
    let created: boolean;
    if (await exists(versionDir)) {
      // An earlier call with this token crashed between rename and swap: finish it, after
      // making sure the folder reads as a whole bundle (it always should).
      await readVersion(versionDir);
      created = false;
    } else {
      const metadata: StoredMetadata = {
        ...bundleDetails(bundle),
        idempotencyToken,
        writtenAt: iso(this.#clock?.now() ?? Date.now()),
      };
      created = await writeVersion(versionsDir, versionDir, bundle, metadata);
    }

    if (current !== undefined) await pointLink(certDir, 'previous', current);
    await pointLink(certDir, 'current', version);
    await syncDirectory(certDir);
    await prune(versionsDir, new Set(current === undefined ? [version] : [version, current]));
    return { created, versionId: version };
  }
}

/** Writes a complete version under a temp name and renames it to `versionDir`. */
async function writeVersion(
  versionsDir: string,
  versionDir: string,
  bundle: CertificateBundle,
  metadata: StoredMetadata,
): Promise<boolean> {
  const temp = join(versionsDir, tempName());
  await guard('create', temp, () => mkdir(temp, { mode: 0o700 }));
  try {
    await writeFileDurably(join(temp, 'privkey.pem'), bundle.privateKey.reveal(), 0o600);
    await writeFileDurably(join(temp, 'cert.pem'), bundle.certificate, 0o644);
    await writeFileDurably(join(temp, 'chain.pem'), bundle.chain, 0o644);
    await writeFileDurably(join(temp, 'fullchain.pem'), bundle.fullchain, 0o644);
    await writeFileDurably(
      join(temp, 'cert.json'),
      `${JSON.stringify(metadata, null, 2)}\n`,
      0o644,
    );
    await syncDirectory(temp);
    try {
      await rename(temp, versionDir);
    } catch (error) {
      // Another writer put the same version in place first: theirs stands.
      if (hasCode(error, 'ENOTEMPTY') || hasCode(error, 'EEXIST')) return false;
      throw fileError('rename', versionDir, error);
    }
    await syncDirectory(versionsDir);
    return true;
  } finally {
    await removeQuietly(temp);
  }
}

async function readVersion(versionDir: string): Promise<CertificateBundle> {
  const read = (file: string) => {
    const path = join(versionDir, file);
    return guard('read', path, () => readFile(path, 'utf8'));
  };
  const [metadataText, certificate, chain, fullchain, keyPem] = await Promise.all([
    read('cert.json'),
    read('cert.pem'),
    read('chain.pem'),
    read('fullchain.pem'),
    read('privkey.pem'),
  ]);
  const metadata = parseMetadata(metadataText, join(versionDir, 'cert.json'));
  return {
    certificate,
    chain,
    fullchain,
    privateKey: toKeyMaterial(keyPem, join(versionDir, 'privkey.pem')),
    ...bundleDetails(metadata),
  };
}

function parseMetadata(text: string, path: string): StoredMetadata {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CertloopError('infrastructure', `${path} is not valid JSON`, {
      source: DIRECTORY_SOURCE,
      cause: error,
    });
  }
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<
    string,
    unknown
  >;
  const strings = ['serial', 'notBefore', 'notAfter', 'issuer', 'idempotencyToken', 'writtenAt'];
  const valid =
    Array.isArray(record.domains) &&
    record.domains.every((domain) => typeof domain === 'string') &&
    strings.every((field) => typeof record[field] === 'string') &&
    typeof record.keyType === 'string' &&
    isKeyType(record.keyType);
  if (!valid) {
    throw new CertloopError('infrastructure', `${path} does not hold certificate metadata`, {
      source: DIRECTORY_SOURCE,
    });
  }
  return record as unknown as StoredMetadata;
}

/** The version a `current` / `previous` link points at, or undefined if there is none. */
async function linkTarget(certDir: string, stage: SecretStage): Promise<string | undefined> {
  const path = join(certDir, stage);
  let target: string;
  try {
    target = await readlink(path);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw fileError('read link', path, error);
  }
  const match = /^versions\/([^/]+)$/.exec(target);
  if (!match?.[1] || match[1] === '.' || match[1] === '..') {
    throw new CertloopError('infrastructure', `${path} does not point into versions/`, {
      source: DIRECTORY_SOURCE,
    });
  }
  return match[1];
}

/** Atomically points `<certDir>/<stage>` at `versions/<version>`. */
function pointLink(certDir: string, stage: SecretStage, version: string): Promise<void> {
  return pointLinkAt(join(certDir, stage), `versions/${version}`);
}

/** Removes every version but `keep`, and temp folders a crashed writer left behind. */
async function prune(versionsDir: string, keep: Set<string>): Promise<void> {
  const entries = await guard('list', versionsDir, () => readdir(versionsDir));
  for (const entry of entries) {
    if (keep.has(entry)) continue;
    const path = join(versionsDir, entry);
    if (entry.startsWith(TEMP_PREFIX)) {
      const stats = await lstat(path).catch(() => undefined);
      if (!stats || Date.now() - stats.mtimeMs < STALE_TEMP_MS) continue;
    }
    await guard('remove', path, () => rm(path, { recursive: true, force: true }));
  }
}
