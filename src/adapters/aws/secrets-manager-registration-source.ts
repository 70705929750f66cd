import type { RegistrationSource, TaggedSecret } from '../../ports/registration-source.js';
import type { SecretsManagerSecretStore } from './secrets-manager-secret-store.js';

/** RegistrationSource on Secrets Manager: secrets listed with the certloop:domains tag-key filter. */
export class SecretsManagerRegistrationSource implements RegistrationSource {
  constructor(private readonly store: SecretsManagerSecretStore) {}

  async *listRegistered(): AsyncIterable<TaggedSecret> {
    for await (const secret of this.store.listRegisteredSecrets())
      yield { id: secret.arn, tags: secret.tags };
  }
}
