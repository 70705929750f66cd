/**
 * DirectorySecretStore: the local-mode SecretStore. Certificates, staged keys and ACME
 * account keys are plain files under one root folder, so a web server on the same
 * machine can read them directly.
 *
 * Layout:
 *
 *   <root>/certs/<name>/current  -> symlink to versions/<v>  (relative target)
 *   <root>/certs/<name>/previous -> symlink to versions/<v>
 *   <root>/certs/<name>/versions/<v>/fullchain.pem   leaf followed by intermediates
 *                                    cert.pem        leaf
 *                                    chain.pem       intermediates (may be empty)
 *                                    privkey.pem     private key, PEM, mode 0600
 *                                    cert.json       every other bundle field, no key
 *   <root>/pending/<name>/<attempt>.key              keys of orders in flight, 0600
 *                                                    (the MAX_PENDING_KEYS newest)
 *   <root>/accounts/<sha256 hex of directory URL>.key  ACME account keys, 0600
 *
 * Every folder the store creates is mode 0700; only the certificate files that hold no
 * secret are 0644 (and sit inside 0700 folders anyway).
 *
 * Names: `<name>` is the secret id, `<v>` the idempotency token and `<attempt>` the
 * attempt id, each through `toFolderName`: [A-Za-z0-9._-] stay as they are and every
 * other character is percent-encoded as UTF-8 (`arn:aws:...:secret:a/b` becomes
 * `arn%3Aaws%3A...%3Asecret%3Aa%2Fb`, `www-example` stays `www-example`). The encoding
 * is injective (decodeURIComponent inverts it), so two ids never share a folder. Empty
 * values, "." and ".." are rejected. A value whose encoding would be longer than 200
 * characters is stored as `+sha256-<hex>`; `+` never appears in an encoded name, and
 * temporary entries start with `+tmp-`, so neither can collide with an encoded one.
 * `cert.json` holds domains, serial, notBefore, notAfter, issuer, keyType,
 * idempotencyToken and writtenAt.
 *
 * Reading a pair (what consumers such as nginx reload hooks should do too): resolve
 * `current` once (realpath, or readlink + join) and read fullchain.pem and privkey.pem
 * from the resolved version folder, never twice through the `current` link, which may
 * be swapped between the two reads. A file missing from the resolved folder means the
 * version was pruned because two newer ones were published meanwhile: resolve again.
 *
 * Writing a version: all files are written (exclusive create, fsync) into
 * `versions/+tmp-<random>`, the folder is fsynced and renamed to `versions/<v>`; only
 * then is `previous` pointed at the old `current` target and `current` at `<v>`, each by
 * creating a new symlink and renaming it over the old one. So `current` never points at
 * a half-written pair and, once it exists, is never missing. Afterwards every version
 * other than current and previous is removed (and temp folders older than ten minutes,
 * left by a crashed writer).
 *
 * Idempotency and crash recovery: `<v>` comes from the idempotency token, so a repeated
 * token finds its own version folder.
 * - `current` or `previous` points at `<v>`: the token's version was published before.
 *   Nothing changes and the answer is `{ created: false }`. In particular a late retry
 *   of a superseded write never rolls `current` back to an older certificate.
 * - `versions/<v>` exists but neither link points at it: an earlier call crashed between
 *   the rename and the swap. The folder is complete (it is renamed in only when fully
 *   written), so this call finishes the swap (previous := old current, current := <v>)
 *   and answers `{ created: false }`: the version was created by the earlier call and no
 *   new one is made, as the port contract says for a repeated token. This matches Secrets
 *   Manager, where a retried PutSecretValue whose first attempt succeeded also reports an
 *   existing version. Callers therefore treat `created: false` as "stored and published
 *   (now or earlier)", and run their follow-up steps idempotently either way. The bundle
 *   passed with a repeated token is ignored: the first one stored under a token wins.
 * - A crash between the `previous` and the `current` swap leaves both links on the old
 *   version (a valid pair); the retry then completes as above.
 * Tokens are remembered only while their version is kept (current or previous): a token
 * older than that would be written again as a new version.
 *
 * Concurrency: writes to one secret are serialized within a store instance. Across
 * processes, one writer per secret at a time is the job of the certificate-record lease;
 * account keys alone are safe with any number of concurrent processes (temp file + link).
 * Key material never appears in errors: messages name paths only.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  unlink,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CertloopError } from '../../core/errors.js';
import { KeyMaterial } from '../../core/key-material.js';
import { isKeyType } from '../../core/key-type.js';
import { iso } from '../../core/time.js';
import type { Clock } from '../../ports/clock.js';
import {
  type CertificateBundle,
  MAX_PENDING_KEYS,
  type SecretStage,
  type SecretStore,
} from '../../ports/secret-store.js';

export interface DirectorySecretStoreOptions {
  /** Folder that holds everything; created (mode 0700) on first write. */
  root: string;
  /** Source of `writtenAt` in cert.json; the system clock when absent. */
  clock?: Clock;
}

const SOURCE = 'secrets';
const MAX_NAME_LENGTH = 200;
const TEMP_PREFIX = '+tmp-';
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

/**
 * The filesystem-safe, injective name of a secret id, token or attempt id (see the
 * top comment). Throws CertloopError `permanent` for empty, ".", ".." or ill-formed
 * Unicode.
 */
export function toFolderName(value: string, what = 'secret id'): string {
  if (value === '' || value === '.' || value === '..') {
    throw new CertloopError('permanent', `A ${what} must not be empty, "." or ".."`, {
      source: SOURCE,
    });
  }
  let encoded: string;
  try {
    encoded = encodeURIComponent(value).replace(
      /[!'()*~]/g,
      (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  } catch {
    throw new CertloopError('permanent', `A ${what} must be well-formed Unicode`, {
      source: SOURCE,
    });
  }
  return encoded.length <= MAX_NAME_LENGTH ? encoded : `+sha256-${sha256Hex(value)}`;
}

export class DirectorySecretStore implements SecretStore {
  readonly root: string;
  readonly #clock: Clock | undefined;
  readonly #writeQueues = new Map<string, Promise<void>>();
  readonly #accountCreations = new Map<string, Promise<KeyMaterial>>();

  constructor(options: DirectorySecretStoreOptions) {
    this.root = options.root;
    this.#clock = options.clock;
  }

  /** `<root>/certs/<name>`: where the `current` and `previous` links of a secret live. */
  certificateDirectory(secretId: string): string {
    return join(this.root, 'certs', toFolderName(secretId));
  }

  async writeCertificate(
    secretId: string,
    bundle: CertificateBundle,
    idempotencyToken: string,
  ): Promise<{ created: boolean }> {
    const certDir = this.certificateDirectory(secretId);
    const version = toFolderName(idempotencyToken, 'idempotency token');
    return this.#serialized(certDir, () =>
      this.#publish(certDir, version, bundle, idempotencyToken),
    );
  }

  async readCertificate(
    secretId: string,
    stage: SecretStage = 'current',
  ): Promise<CertificateBundle | undefined> {
    if (!STAGES.includes(stage)) {
      throw new CertloopError('permanent', 'The stage must be current or previous', {
        source: SOURCE,
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

  async stagePendingKey(secretId: string, attemptId: string, key: KeyMaterial): Promise<void> {
    const file = this.#pendingFile(secretId, attemptId);
    const dir = dirname(file);
    await makeDirectory(dir);
    const temp = join(dir, tempName());
    try {
      await writeFileDurably(temp, key.reveal(), 0o600);
      await guard('rename', file, () => rename(temp, file));
      await syncDirectory(dir);
    } finally {
      await removeQuietly(temp);
    }
    await dropOldestPendingKeys(dir, file);
  }

  async readPendingKey(secretId: string, attemptId: string): Promise<KeyMaterial | undefined> {
    return readKeyIfPresent(this.#pendingFile(secretId, attemptId));
  }

  async discardPendingKey(secretId: string, attemptId: string): Promise<void> {
    const file = this.#pendingFile(secretId, attemptId);
    await guard('remove', file, async () => {
      try {
        await unlink(file);
      } catch (error) {
        if (!hasCode(error, 'ENOENT')) throw error;
      }
    });
  }

  async getOrCreateAccountKey(
    directoryUrl: string,
    generate: () => Promise<KeyMaterial>,
  ): Promise<KeyMaterial> {
    const file = join(this.root, 'accounts', `${sha256Hex(directoryUrl)}.key`);
    const existing = await readKeyIfPresent(file);
    if (existing) return existing;
    // Callers in this process share one creation; other processes race through link().
    let creation = this.#accountCreations.get(file);
    if (!creation) {
      creation = createAccountKey(file, generate).finally(() => {
        this.#accountCreations.delete(file);
      });
      this.#accountCreations.set(file, creation);
    }
    return creation;
  }

  #pendingFile(secretId: string, attemptId: string): string {
    const name = toFolderName(secretId);
    return join(this.root, 'pending', name, `${toFolderName(attemptId, 'attempt id')}.key`);
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
  ): Promise<{ created: boolean }> {
    const versionsDir = join(certDir, 'versions');
    await makeDirectory(versionsDir);
    const current = await linkTarget(certDir, 'current');
    const previous = await linkTarget(certDir, 'previous');
    // Already published (now or before the current one): never roll back.
    if (current === version || previous === version) return { created: false };

    const versionDir = join(versionsDir, version);
    let created: boolean;
    if (await exists(versionDir)) {
      // An earlier call with this token crashed between rename and swap: finish it, after
      // making sure the folder reads as a whole bundle (it always should).
      await readVersion(versionDir);
      created = false;
    } else {
      const metadata: StoredMetadata = {
        domains: [...bundle.domains],
        serial: bundle.serial,
        notBefore: bundle.notBefore,
        notAfter: bundle.notAfter,
        issuer: bundle.issuer,
        keyType: bundle.keyType,
        idempotencyToken,
        writtenAt: iso(this.#clock?.now() ?? Date.now()),
      };
      created = await writeVersion(versionsDir, versionDir, bundle, metadata);
    }

    if (current !== undefined) await pointLink(certDir, 'previous', current);
    await pointLink(certDir, 'current', version);
    await syncDirectory(certDir);
    await prune(versionsDir, new Set(current === undefined ? [version] : [version, current]));
    return { created };
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
      throw infrastructure('rename', versionDir, error);
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
    domains: metadata.domains,
    serial: metadata.serial,
    notBefore: metadata.notBefore,
    notAfter: metadata.notAfter,
    issuer: metadata.issuer,
    keyType: metadata.keyType,
  };
}

function parseMetadata(text: string, path: string): StoredMetadata {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CertloopError('infrastructure', `${path} is not valid JSON`, {
      source: SOURCE,
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
      source: SOURCE,
    });
  }
  return record as unknown as StoredMetadata;
}

async function createAccountKey(
  file: string,
  generate: () => Promise<KeyMaterial>,
): Promise<KeyMaterial> {
  const dir = dirname(file);
  await makeDirectory(dir);
  // Someone may have finished since our first look.
  const existing = await readKeyIfPresent(file);
  if (existing) return existing;
  const key = await generate();
  const temp = join(dir, tempName());
  try {
    await writeFileDurably(temp, key.reveal(), 0o600);
    try {
      // link() fails when `file` exists, and `file` only ever appears fully written.
      await link(temp, file);
    } catch (error) {
      if (!hasCode(error, 'EEXIST')) throw infrastructure('link', file, error);
      const winner = await readKeyIfPresent(file);
      if (!winner) throw infrastructure('read', file, error);
      return winner;
    }
    await syncDirectory(dir);
    return key;
  } finally {
    await removeQuietly(temp);
  }
}

/** The version a `current` / `previous` link points at, or undefined if there is none. */
async function linkTarget(certDir: string, stage: SecretStage): Promise<string | undefined> {
  const path = join(certDir, stage);
  let target: string;
  try {
    target = await readlink(path);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw infrastructure('read link', path, error);
  }
  const match = /^versions\/([^/]+)$/.exec(target);
  if (!match?.[1] || match[1] === '.' || match[1] === '..') {
    throw new CertloopError('infrastructure', `${path} does not point into versions/`, {
      source: SOURCE,
    });
  }
  return match[1];
}

/** Atomically points `<certDir>/<stage>` at `versions/<version>`: new link, rename over. */
async function pointLink(certDir: string, stage: SecretStage, version: string): Promise<void> {
  const path = join(certDir, stage);
  const temp = join(certDir, tempName());
  try {
    await guard('create link', temp, () => symlink(`versions/${version}`, temp));
    await guard('replace link', path, () => rename(temp, path));
  } finally {
    await removeQuietly(temp);
  }
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

async function readKeyIfPresent(path: string): Promise<KeyMaterial | undefined> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw infrastructure('read', path, error);
  }
  return toKeyMaterial(pem, path);
}

function toKeyMaterial(pem: string, path: string): KeyMaterial {
  try {
    return new KeyMaterial(pem);
  } catch {
    // No cause: never carry the file's content along.
    throw new CertloopError('infrastructure', `${path} does not hold a PEM private key`, {
      source: SOURCE,
    });
  }
}

/** Exclusive create, write, fsync, close: the file is complete before anyone renames it. */
async function writeFileDurably(path: string, data: string, mode: number): Promise<void> {
  await guard('write', path, async () => {
    const handle = await open(path, 'wx', mode);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/** fsync a folder so that renames and links inside it survive a power loss. */
async function syncDirectory(path: string): Promise<void> {
  await guard('sync', path, async () => {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } catch (error) {
      // Some filesystems cannot fsync a folder; the rename is still atomic there.
      if (!hasCode(error, 'EINVAL') && !hasCode(error, 'EISDIR') && !hasCode(error, 'EPERM')) {
        throw error;
      }
    } finally {
      await handle.close();
    }
  });
}

async function makeDirectory(path: string): Promise<void> {
  await guard('create', path, () => mkdir(path, { recursive: true, mode: 0o700 }));
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return false;
    throw infrastructure('inspect', path, error);
  }
}

/** Keeps the MAX_PENDING_KEYS newest staged keys of one secret's folder, `keep` always. */
async function dropOldestPendingKeys(dir: string, keep: string): Promise<void> {
  const names = await guard('list', dir, () => readdir(dir));
  const keys = names.filter((name) => name.endsWith('.key') && join(dir, name) !== keep);
  if (keys.length < MAX_PENDING_KEYS) return;
  const dated = await Promise.all(
    keys.map(async (name) => {
      const info = await lstat(join(dir, name)).catch(() => undefined);
      return { name, at: info?.mtimeMs ?? 0 };
    }),
  );
  dated.sort((a, b) => a.at - b.at || a.name.localeCompare(b.name));
  for (const { name } of dated.slice(0, keys.length - (MAX_PENDING_KEYS - 1))) {
    await removeQuietly(join(dir, name));
  }
}

async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => undefined);
}

/** Runs a filesystem step; any failure becomes an infrastructure error naming `path`. */
async function guard<T>(action: string, path: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof CertloopError) throw error;
    throw infrastructure(action, path, error);
  }
}

function infrastructure(action: string, path: string, cause: unknown): CertloopError {
  const code = errorCode(cause);
  return new CertloopError(
    'infrastructure',
    `Could not ${action} ${path}${code ? ` (${code})` : ''}`,
    { source: SOURCE, cause },
  );
}

function causeOf(error: unknown): unknown {
  return error instanceof CertloopError ? error.cause : error;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function hasCode(error: unknown, code: string): boolean {
  return errorCode(error) === code;
}

function tempName(): string {
  return `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
}

function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
