import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../src/config/environment.js';

// Every function reads and checks its whole configuration at cold start, before it
// creates a client. A bad setting fails the import with the variable's name, and not
// one request reaches any service (all AWS endpoints point at this counting server).
describe('a function cold-started with a bad configuration', () => {
  let server: Server;
  let requests = 0;
  const saved = { ...process.env };

  const complete: Record<string, string> = {
    [ENV.tableName]: 'certloop-records',
    [ENV.issuers]: JSON.stringify({ default: { directoryUrl: 'https://acme.example/dir' } }),
    [ENV.hostedZones]: JSON.stringify([{ hostedZoneId: 'Z0123456789ABC', domain: 'example.com' }]),
    [ENV.queueUrl]: 'https://sqs.us-east-1.amazonaws.com/123456789012/certloop-work',
  };

  beforeAll(async () => {
    server = createServer((_req, res) => {
      requests += 1;
      res.statusCode = 500;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  });
  beforeEach(() => {
    vi.resetModules();
    for (const name of Object.values(ENV)) delete process.env[name];
  });
  afterAll(async () => {
    process.env = saved;
    await new Promise((resolve) => server.close(resolve));
  });

  const load = (fn: string) => import(`../../functions/${fn}.ts`);

  it.each<[string, string, Record<string, string | undefined>, string]>([
    ['worker', 'no table name', { [ENV.tableName]: undefined }, ENV.tableName],
    ['worker', 'issuers that are not JSON', { [ENV.issuers]: '{oops' }, ENV.issuers],
    ['worker', 'no hosted zones', { [ENV.hostedZones]: undefined }, ENV.hostedZones],
    [
      'worker',
      'a hosted zone without a domain',
      { [ENV.hostedZones]: '[{"hostedZoneId":"Z1"}]' },
      ENV.hostedZones,
    ],
    ['worker', 'a lease of ten seconds', { [ENV.leaseSeconds]: '10' }, ENV.leaseSeconds],
    ['worker', 'an unknown DNS provider', { [ENV.dns]: 'bind' }, ENV.dns],
    [
      'sweep',
      'a default issuer that is not configured',
      { [ENV.defaultIssuer]: 'prod' },
      ENV.defaultIssuer,
    ],
    ['planner', 'no queue URL', { [ENV.queueUrl]: undefined }, ENV.queueUrl],
    ['planner', 'a table name with spaces', { [ENV.tableName]: 'my table' }, ENV.tableName],
  ])(
    'the %s with %s fails naming the variable and calls no service',
    async (fn, _sentence, change, variable) => {
      for (const [name, value] of Object.entries({ ...complete, ...change })) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await expect(load(fn)).rejects.toThrow(new RegExp(`^${variable}: `));
      expect(requests).toBe(0);
    },
  );

  it('the same functions start with the complete configuration, still without calling anything', async () => {
    Object.assign(process.env, complete);
    for (const fn of ['worker', 'planner', 'sweep']) {
      vi.resetModules();
      const module = (await load(fn)) as { handler: unknown };
      expect(typeof module.handler).toBe('function');
    }
    expect(requests).toBe(0);
  });
});
