import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe } from 'vitest';
import { SecretsManagerSecretStore } from '../../src/adapters/aws/secrets-manager-secret-store.js';
import { DirectorySecretStore } from '../../src/adapters/local/directory-secret-store.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import { freshMotoPerTest } from '../support/moto.js';
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

describe('on moto', () => {
  const freshMoto = freshMotoPerTest();

  // On AWS the user creates and tags the secret and certloop only adds versions, so the
  // fixture creates every secret the contract uses (empty, like `aws secretsmanager
  // create-secret --name x` without a value). An ARN-shaped id names the secret after
  // `secret:`; moto resolves such an ARN by that name.
  describeSecretStoreContract('SecretsManagerSecretStore on moto', async () => {
    await freshMoto();
    const client = new SecretsManagerClient({});
    return {
      store: new SecretsManagerSecretStore({ client }),
      prepare: async (secretId) => {
        const name = secretId.startsWith('arn:') ? secretId.split(':secret:')[1] : secretId;
        await client.send(
          new CreateSecretCommand({ Name: name, Tags: [{ Key: 'certloop:domains', Value: 'x' }] }),
        );
      },
      teardown: async () => client.destroy(),
    };
  });
});
