/**
 * Filesystem steps shared by the local-mode stores (directory secret store, directory
 * STEK store) and the host exports (`certloop stek export`, `certloop cert export`):
 * injective file names, durable and atomic writes, link swaps, and one translation of
 * filesystem errors into CertloopError `infrastructure` naming the path (never file
 * contents).
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readFile, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CertloopError } from '../../core/errors.js';
import { KeyMaterial } from '../../core/key-material.js';

/** The `source` of every error the directory stores raise. */
export const DIRECTORY_SOURCE = 'secrets';
/** Names of temporary entries; `+` never appears in an encoded name. */
export const TEMP_PREFIX = '+tmp-';
const MAX_NAME_LENGTH = 200;

/**
 * The filesystem-safe, injective name of a secret id, token, attempt id or set id:
 * [A-Za-z0-9._-] stay as they are and every other character is percent-encoded as UTF-8
 * (decodeURIComponent inverts it, so two ids never share a name). A value whose encoding
 * would be longer than 200 characters is stored as `+sha256-<hex>`. Throws CertloopError
 * `permanent` for empty, ".", ".." or ill-formed Unicode.
 */
export function toFolderName(value: string, what = 'secret id'): string {
  if (value === '' || value === '.' || value === '..') {
    throw new CertloopError('permanent', `A ${what} must not be empty, "." or ".."`, {
      source: DIRECTORY_SOURCE,
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
      source: DIRECTORY_SOURCE,
    });
  }
  return encoded.length <= MAX_NAME_LENGTH ? encoded : `+sha256-${sha256Hex(value)}`;
}

/** Runs a filesystem step; any failure becomes an infrastructure error naming `path`. */
export async function guard<T>(action: string, path: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof CertloopError) throw error;
    throw fileError(action, path, error);
  }
}

/** "Could not <action> <path> (<code>)", kind `infrastructure`, the error as cause. */
export function fileError(action: string, path: string, cause: unknown): CertloopError {
  const code = errorCode(cause);
  return new CertloopError(
    'infrastructure',
    `Could not ${action} ${path}${code ? ` (${code})` : ''}`,
    { source: DIRECTORY_SOURCE, cause },
  );
}

/** The filesystem error behind a CertloopError from `guard`, or the error itself. */
export function causeOf(error: unknown): unknown {
  return error instanceof CertloopError ? error.cause : error;
}

export function hasCode(error: unknown, code: string): boolean {
  return errorCode(error) === code;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Exclusive create, write, fsync, close: the file is complete before anyone renames it. */
export async function writeFileDurably(
  path: string,
  data: string | Uint8Array,
  mode: number,
): Promise<void> {
  await guard('write', path, async () => {
    const handle = await open(path, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/** fsync a folder so that renames and links inside it survive a power loss. */
export async function syncDirectory(path: string): Promise<void> {
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

/** mkdir -p with mode 0700. */
export async function makeDirectory(path: string): Promise<void> {
  await guard('create', path, () => mkdir(path, { recursive: true, mode: 0o700 }));
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return false;
    throw fileError('inspect', path, error);
  }
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => undefined);
}

export function tempName(): string {
  return `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A file's text, or undefined when there is no such file. */
export async function readFileIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw fileError('read', path, error);
  }
}

/** The private key in a PEM file, or undefined when there is no such file. */
export async function readKeyIfPresent(path: string): Promise<KeyMaterial | undefined> {
  const pem = await readFileIfPresent(path);
  return pem === undefined ? undefined : toKeyMaterial(pem, path);
}

/** The PEM as KeyMaterial; `infrastructure` naming the path (no cause) when it is none. */
export function toKeyMaterial(pem: string, path: string): KeyMaterial {
  try {
    return new KeyMaterial(pem);
  } catch {
    // No cause: never carry the file's content along.
    throw new CertloopError('infrastructure', `${path} does not hold a PEM private key`, {
      source: DIRECTORY_SOURCE,
    });
  }
}

/**
 * Writes every file to a temp sibling first (exclusive create, fsync) and renames them
 * into place only when all were written: on any error nothing existing is touched. A
 * reader of one file sees the old or the new content, never a part. (Two files are two
 * renames: for a set that must change as one, write a folder and `pointLinkAt` it.)
 */
export async function writeFilesAtomically(
  files: readonly { path: string; data: string | Uint8Array; mode?: number }[],
): Promise<void> {
  const temps: { temp: string; path: string }[] = [];
  try {
    for (const file of files) {
      const existing = await lstat(file.path).catch(() => undefined);
      if (existing?.isDirectory()) {
        throw new CertloopError('permanent', `${file.path} is a folder, not a file`, {
          source: DIRECTORY_SOURCE,
        });
      }
      const temp = join(dirname(file.path), `.${basename(file.path)}${tempName()}`);
      temps.push({ temp, path: file.path });
      await writeFileDurably(temp, file.data, file.mode ?? 0o600);
    }
    for (const { temp, path } of temps) await guard('rename', path, () => rename(temp, path));
  } finally {
    for (const { temp } of temps) await removeQuietly(temp);
  }
}

/**
 * Atomically makes `linkPath` a symbolic link to `target` (relative to the link's folder):
 * a new link under a temp name, renamed over the old one. Readers resolving the link see
 * the old target or the new one.
 */
export async function pointLinkAt(linkPath: string, target: string): Promise<void> {
  const temp = join(dirname(linkPath), tempName());
  try {
    await guard('create link', temp, () => symlink(target, temp));
    await guard('replace link', linkPath, () => rename(temp, linkPath));
  } finally {
    await removeQuietly(temp);
  }
}
