/**
 * DirectoryStekStore: the local-mode StekSetStore. One file per set:
 *
 *   <root>/stek/<name>.json   mode 0600, in a 0700 folder
 *
 * `<name>` is the set id through `toFolderName` (the injective, filesystem-safe encoding
 * the directory secret store uses too). The file holds the ring document (`encodeRing`) plus the
 * `idempotencyToken` it was written with. Writing: the new document goes to a temp file
 * in the same folder (exclusive create, 0600, fsync), which is renamed over the old
 * file, and the folder is fsynced: a reader sees the old ring or the new one, never a
 * half-written file. A repeated token or a generation not above the stored one is
 * `{ created: false }` (port contract). Writes to one set are serialized within a store
 * instance; across processes, one writer per set at a time is the job of the STEK
 * lease. Errors name paths, never bytes.
 */
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { CertloopError } from '../../core/errors.js';
import {
  decodeRing,
  encodeRing,
  type StekRing,
  StekRingFormatError,
} from '../../core/stek-ring.js';
import type { StekSetStore } from '../../ports/stek-store.js';
import {
  DIRECTORY_SOURCE,
  guard,
  makeDirectory,
  readFileIfPresent,
  removeQuietly,
  tempName,
  toFolderName,
  writeFileDurably,
} from './directory-files.js';

export interface DirectoryStekStoreOptions {
  /** Folder that holds `stek/`; created (0700) on first write. */
  root: string;
}

export class DirectoryStekStore implements StekSetStore {
  readonly root: string;
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(options: DirectoryStekStoreOptions) {
    this.root = options.root;
  }

  /** `<root>/stek/<name>.json`. */
  fileOf(setId: string): string {
    return join(this.root, 'stek', `${toFolderName(setId, 'STEK set id')}.json`);
  }

  async read(setId: string): Promise<StekRing | undefined> {
    const stored = await this.#readStored(this.fileOf(setId));
    return stored?.ring;
  }

  write(setId: string, ring: StekRing, idempotencyToken: string): Promise<{ created: boolean }> {
    const file = this.fileOf(setId);
    const before = this.#queues.get(file) ?? Promise.resolve();
    const result = before.then(() => this.#write(file, ring, idempotencyToken));
    const tail = result.catch(() => undefined);
    this.#queues.set(file, tail);
    void tail.then(() => {
      if (this.#queues.get(file) === tail) this.#queues.delete(file);
    });
    return result;
  }

  async #write(file: string, ring: StekRing, token: string): Promise<{ created: boolean }> {
    if (token === '') {
      throw new CertloopError('permanent', `An empty idempotency token was given for ${file}`, {
        source: DIRECTORY_SOURCE,
      });
    }
    const stored = await this.#readStored(file);
    if (stored && (stored.token === token || stored.ring.generation >= ring.generation)) {
      return { created: false };
    }
    const dir = join(file, '..');
    await makeDirectory(dir);
    const document = { ...(JSON.parse(encodeRing(ring)) as object), idempotencyToken: token };
    const temp = join(dir, tempName());
    try {
      await writeFileDurably(temp, `${JSON.stringify(document, null, 2)}\n`, 0o600);
      await guard('rename', file, () => rename(temp, file));
      // Best effort: a folder that cannot be fsynced still got an atomic rename.
      await guard('sync', dir, async () => {
        const handle = await open(dir, 'r');
        try {
          await handle.sync().catch(() => undefined);
        } finally {
          await handle.close();
        }
      });
    } finally {
      await removeQuietly(temp);
    }
    return { created: true };
  }

  async #readStored(file: string): Promise<{ ring: StekRing; token: string } | undefined> {
    const text = await readFileIfPresent(file);
    if (text === undefined) return undefined;
    try {
      const ring = decodeRing(text);
      const token = (JSON.parse(text) as { idempotencyToken?: unknown }).idempotencyToken;
      return { ring, token: typeof token === 'string' ? token : '' };
    } catch (error) {
      const problem = error instanceof StekRingFormatError ? error.message : 'unreadable';
      throw new CertloopError('permanent', `${file} does not hold a STEK ring (${problem})`, {
        source: DIRECTORY_SOURCE,
      });
    }
  }
}
