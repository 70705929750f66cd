/**
 * ACME account keys in the local-mode directory store:
 * `<root>/accounts/<sha256 hex of the account identity>.key` (mode 0600), where the
 * identity is `issuerIdentity()`: the directory URL, followed by ` kid=<EAB key id>`
 * with External Account Binding (so a key without EAB keeps its old file name). A new key is written
 * to a temp file and hard-linked into place; link() fails when the file exists, so any
 * number of processes may race and all end up with the first key stored. Callers in one
 * process share one creation.
 */
import { link } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { issuerIdentity } from '../../core/issuer-identity.js';
import type { KeyMaterial } from '../../core/key-material.js';
import type { AccountKeys, AcmeAccountId } from '../../ports/secret-store.js';
import {
  fileError,
  hasCode,
  makeDirectory,
  readKeyIfPresent,
  removeQuietly,
  sha256Hex,
  syncDirectory,
  tempName,
  writeFileDurably,
} from './directory-files.js';

export class DirectoryAccountKeys implements AccountKeys {
  readonly #root: string;
  readonly #creations = new Map<string, Promise<KeyMaterial>>();

  constructor(root: string) {
    this.#root = root;
  }

  async getOrCreateAccountKey(
    account: AcmeAccountId,
    generate: () => Promise<KeyMaterial>,
  ): Promise<KeyMaterial> {
    const file = join(this.#root, 'accounts', `${sha256Hex(issuerIdentity(account))}.key`);
    const existing = await readKeyIfPresent(file);
    if (existing) return existing;
    // Callers in this process share one creation; other processes race through link().
    let creation = this.#creations.get(file);
    if (!creation) {
      creation = createAccountKey(file, generate).finally(() => {
        this.#creations.delete(file);
      });
      this.#creations.set(file, creation);
    }
    return creation;
  }
}

async function createAccountKey(
  file: string,
  generate: () => Promise<KeyMaterial>,
): Promise<KeyMaterial> {
  const dir = dirname(file);
  // Someone may have finished since our first look.
  const existing = await readKeyIfPresent(file);
  if (existing) return existing;
  // Nothing is written (not even the folder) until generate has succeeded.
  const key = await generate();
  await makeDirectory(dir);
  const temp = join(dir, tempName());
  try {
    await writeFileDurably(temp, key.reveal(), 0o600);
    try {
      // link() fails when `file` exists, and `file` only ever appears fully written.
      await link(temp, file);
    } catch (error) {
      if (!hasCode(error, 'EEXIST')) throw fileError('link', file, error);
      const winner = await readKeyIfPresent(file);
      if (!winner) throw fileError('read', file, error);
      return winner;
    }
    await syncDirectory(dir);
    return key;
  } finally {
    await removeQuietly(temp);
  }
}
