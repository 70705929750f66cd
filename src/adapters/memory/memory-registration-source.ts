import { REGISTRATION_TAG_KEY } from '../../config/shared-names.js';
import type { RegistrationSource, TaggedSecret } from '../../ports/registration-source.js';

/** In-memory RegistrationSource: secrets and their tags, listed like the tag filter would. */
export class MemoryRegistrationSource implements RegistrationSource {
  readonly secrets = new Map<string, Record<string, string>>();

  tag(id: string, tags: Record<string, string>): void {
    this.secrets.set(id, { ...tags });
  }

  async *listRegistered(): AsyncIterable<TaggedSecret> {
    for (const [id, tags] of this.secrets) {
      if (REGISTRATION_TAG_KEY in tags) yield { id, tags: { ...tags } };
    }
  }
}
