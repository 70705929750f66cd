/**
 * DirectoryStekStore: the local-mode StekSetStore. One file per set:
 *
 *   <root>/stek/<name>.json   mode 0600, in a 0700 folder
 *
 * `<name>` is the set id through `toFolderName` (the directory secret store's injective,
 * filesystem-safe encoding). The file holds the ring document (`encodeRing`) plus the
 * `idempotencyToken` it was written with. Writing: the new document goes to a temp file
 * in the same folder (exclusive create, 0600, fsync), which is renamed over the old
 * file, and the folder is fsynced: a reader sees the old ring or the new one, never a
 * half-written file. A repeated token or a generation not above the stored one is
 * `{ created: false }` (port contract). Writes to one set are serialized within a store
 * instance; across processes, one writer per set at a time is the job of the STEK
 * lease. Errors name paths, never bytes.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CertloopError } from '../../core/errors.js';
import {
  decodeRing,
  encodeRing,
  type StekRing,
  StekRingFormatError,
} from '../../core/stek-ring.js';
import type { StekSetStore } from '../../ports/stek-store.js';
import { toFolderName } from './directory-secret-store.js';

const SOURCE = 'secrets';

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
        source: SOURCE,
      });
    }
    const stored = await this.#readStored(file);
    if (stored && (stored.token === token || stored.ring.generation >= ring.generation)) {
      return { created: false };
    }
    const dir = join(file, '..');
    await guard('create', dir, () => mkdir(dir, { recursive: true, mode: 0o700 }));
    const document = { ...(JSON.parse(encodeRing(ring)) as object), idempotencyToken: token };
    const temp = join(dir, `+tmp-${randomBytes(8).toString('hex')}`);
    try {
      await guard('write', temp, async () => {
        const handle = await open(temp, 'wx', 0o600);
        try {
          await handle.writeFile(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
          await handle.sync();
        } finally {
          await handle.close();
        }
      });
      await guard('rename', file, () => rename(temp, file));
      await guard('sync', dir, async () => {
        const handle = await open(dir, 'r');
        try {
          await handle.sync().catch(() => undefined);
        } finally {
          await handle.close();
        }
      });
    } finally {
      await rm(temp, { force: true }).catch(() => undefined);
    }
    return { created: true };
  }

  async #readStored(file: string): Promise<{ ring: StekRing; token: string } | undefined> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
      throw infrastructure('read', file, error);
    }
    try {
      const ring = decodeRing(text);
      const token = (JSON.parse(text) as { idempotencyToken?: unknown }).idempotencyToken;
      return { ring, token: typeof token === 'string' ? token : '' };
    } catch (error) {
      const problem = error instanceof StekRingFormatError ? error.message : 'unreadable';
      throw new CertloopError('permanent', `${file} does not hold a STEK ring (${problem})`, {
        source: SOURCE,
      });
    }
  }
}

async function guard<T>(action: string, path: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof CertloopError) throw error;
    throw infrastructure(action, path, error);
  }
}

function infrastructure(action: string, path: string, cause: unknown): CertloopError {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return new CertloopError(
    'infrastructure',
    `Could not ${action} ${path}${typeof code === 'string' ? ` (${code})` : ''}`,
    { source: SOURCE, cause },
  );
}
