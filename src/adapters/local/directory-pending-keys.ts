/**
 * Pending keys in the local-mode directory store: `<root>/pending/<name>/<attempt>.key`
 * (mode 0600, in 0700 folders), written to a temp file and renamed in. Only the
 * MAX_PENDING_KEYS newest keys of a secret are kept; discarding a missing key is not an
 * error.
 */
import { lstat, readdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { KeyMaterial } from '../../core/key-material.js';
import { MAX_PENDING_KEYS, type PendingKeys } from '../../ports/secret-store.js';
import {
  guard,
  hasCode,
  makeDirectory,
  readKeyIfPresent,
  removeQuietly,
  syncDirectory,
  tempName,
  toFolderName,
  writeFileDurably,
} from './directory-files.js';

export class DirectoryPendingKeys implements PendingKeys {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
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

  #pendingFile(secretId: string, attemptId: string): string {
    const name = toFolderName(secretId);
    return join(this.#root, 'pending', name, `${toFolderName(attemptId, 'attempt id')}.key`);
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
