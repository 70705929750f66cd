import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectorySecretStore } from '../../src/adapters/local/directory-secret-store.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import { describeSecretStoreContract } from './secret-store.contract.js';

describeSecretStoreContract('MemorySecretStore', async () => ({
  store: new MemorySecretStore(),
  teardown: async () => {},
}));

describeSecretStoreContract('DirectorySecretStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'certloop-secrets-'));
  return {
    store: new DirectorySecretStore({ root }),
    teardown: () => rm(root, { recursive: true, force: true }),
  };
});
