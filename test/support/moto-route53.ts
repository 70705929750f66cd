import {
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Route53ClientConfig,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll } from 'vitest';
import { type MotoEnv, useMotoEnv } from './moto.js';

export interface MotoRoute53 {
  /** The moto endpoint (also in AWS_ENDPOINT_URL). */
  endpoint: string;
  /**
   * A Route53Client built without an explicit endpoint: like production, it finds moto
   * through the standard environment (AWS_ENDPOINT_URL, AWS_REGION, credentials).
   */
  client(config?: Route53ClientConfig): Route53Client;
  /** Creates a public hosted zone; returns its id without the `/hostedzone/` prefix. */
  createZone(domain: string): Promise<string>;
  /** Every TXT record set of a zone: name (trailing dot removed, lower case) and decoded values. */
  txtRecords(hostedZoneId: string): Promise<Array<{ name: string; values: string[] }>>;
  /** The TXT values of one name, read back independently of the solver. */
  txtValues(hostedZoneId: string, name: string): Promise<string[]>;
  /** Forgets every hosted zone (POST /moto-api/reset). */
  reset(): Promise<void>;
}

/**
 * moto_server (through test/support/moto.ts) for the enclosing describe block or file, with
 * Route 53 helpers. Returns a getter, since the server exists only once beforeAll ran.
 */
export function useMotoRoute53(): () => MotoRoute53 {
  let env: MotoEnv | undefined;
  let api: MotoRoute53 | undefined;
  const clients: Route53Client[] = [];

  beforeAll(async () => {
    env = await useMotoEnv();
    const client = (config: Route53ClientConfig = {}) => {
      const created = new Route53Client(config);
      clients.push(created);
      return created;
    };
    const admin = client();
    let zones = 0;
    const readTxt = async (hostedZoneId: string) => {
      const found: Array<{ name: string; values: string[] }> = [];
      let start: { name?: string; type?: string } = {};
      for (;;) {
        const page = await admin.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: hostedZoneId,
            ...(start.name === undefined ? {} : { StartRecordName: start.name }),
            ...(start.type === undefined ? {} : { StartRecordType: start.type as 'TXT' }),
          }),
        );
        for (const set of page.ResourceRecordSets ?? []) {
          if (set.Type !== 'TXT') continue;
          found.push({
            name: plainName(set.Name ?? ''),
            values: (set.ResourceRecords ?? []).map((record) => unquote(record.Value ?? '')),
          });
        }
        if (!page.IsTruncated) return found;
        start = { name: page.NextRecordName, type: page.NextRecordType };
      }
    };
    api = {
      endpoint: env.endpoint,
      client,
      async createZone(domain) {
        zones += 1;
        const created = await admin.send(
          new CreateHostedZoneCommand({
            Name: domain,
            CallerReference: `certloop-test-${process.pid}-${zones}-${Date.now()}`,
          }),
        );
        const id = created.HostedZone?.Id;
        if (!id) throw new Error(`moto created no hosted zone id for ${domain}`);
        return id.replace(/^\/hostedzone\//, '');
      },
      txtRecords: readTxt,
      async txtValues(hostedZoneId, name) {
        const wanted = plainName(name);
        const records = await readTxt(hostedZoneId);
        return records.find((record) => record.name === wanted)?.values ?? [];
      },
      reset: () => (env ? env.reset() : Promise.resolve()),
    };
  });

  afterAll(async () => {
    for (const created of clients) created.destroy();
    await env?.teardown();
  });

  return () => {
    if (!api) throw new Error('moto is not running: useMotoRoute53() getter called outside a test');
    return api;
  };
}

/** Route 53 names end with a dot and may escape `*` as `\052`. */
function plainName(name: string): string {
  return name.replace(/\\052/g, '*').replace(/\.$/, '').toLowerCase();
}

/** `"abc"` → `abc` (single-string values, as DNS-01 values are). */
function unquote(value: string): string {
  return value.replace(/^"(.*)"$/, '$1');
}
