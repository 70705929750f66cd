/**
 * Registration discovery on Secrets Manager: the secrets tagged `certloop:domains`
 * (ListSecrets filtered by tag key, every page), and the tags of one secret
 * (DescribeSecret). Secrets scheduled for deletion are left out by the service.
 */
import { ListSecretsCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { REGISTRATION_TAG_KEY } from '../../config/shared-names.js';
import type { RegistrationSource, TaggedSecret } from '../../ports/registration-source.js';
import { describeSecret, sendTranslated, tagRecord } from './secrets-manager-calls.js';

export interface SecretsManagerRegistrationSourceOptions {
  client: SecretsManagerClient;
  /** Page size of ListSecrets (1-100). Default 100. */
  listPageSize?: number;
}

/** A secret registered for a certificate, as found by `listRegisteredSecrets`. */
export interface RegisteredSecret {
  arn: string;
  name: string;
  /** Every tag of the secret, `certloop:domains` among them. */
  tags: Record<string, string>;
}

export class SecretsManagerRegistrationSource implements RegistrationSource {
  readonly #client: SecretsManagerClient;
  readonly #listPageSize: number;

  constructor(options: SecretsManagerRegistrationSourceOptions) {
    this.#client = options.client;
    this.#listPageSize = options.listPageSize ?? 100;
  }

  async *listRegistered(): AsyncIterable<TaggedSecret> {
    for await (const secret of this.listRegisteredSecrets())
      yield { id: secret.arn, tags: secret.tags };
  }

  /** Every secret that carries the `certloop:domains` tag, with its name and ARN. */
  async *listRegisteredSecrets(): AsyncIterable<RegisteredSecret> {
    let nextToken: string | undefined;
    do {
      const page = await sendTranslated(
        'ListSecrets',
        undefined,
        `list secrets tagged ${REGISTRATION_TAG_KEY}`,
        () =>
          this.#client.send(
            new ListSecretsCommand({
              Filters: [{ Key: 'tag-key', Values: [REGISTRATION_TAG_KEY] }],
              MaxResults: this.#listPageSize,
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
          ),
      );
      for (const entry of page.SecretList ?? []) {
        const tags = tagRecord(entry.Tags);
        // The service matches tag keys by prefix: keep only the exact key.
        if (entry.ARN === undefined || entry.Name === undefined) continue;
        if (!Object.hasOwn(tags, REGISTRATION_TAG_KEY)) continue;
        yield { arn: entry.ARN, name: entry.Name, tags };
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken);
  }

  /** The tags of a secret (DescribeSecret), as a plain record; `not-found` when it is gone. */
  async readRegistrationTags(secretId: string): Promise<Record<string, string>> {
    const described = await describeSecret(this.#client, secretId, 'read registration tags');
    return tagRecord(described.Tags);
  }
}
