/** A secret that carries certloop tags. */
export interface TaggedSecret {
  /** The secret's identity (an ARN on AWS): becomes the record id. */
  id: string;
  tags: Record<string, string>;
}

/**
 * Lists the secrets that are registered for management.
 * Contract: `listRegistered` yields every secret carrying `certloop:domains` (and no
 * secret without it), each once, with all its tags; it pages through as many secrets
 * as there are. Errors: kind `infrastructure` when the listing API throttles or fails.
 */
export interface RegistrationSource {
  listRegistered(): AsyncIterable<TaggedSecret>;
}
