import { ChangeResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  Route53Dns01Solver,
  type Route53Dns01SolverOptions,
} from '../../src/adapters/aws/route53-dns01-solver.js';
import { decodeTxt, encodeTxt, normalizeName } from '../../src/adapters/aws/route53-txt-records.js';
import { CertloopError } from '../../src/core/errors.js';
import type { TxtRecord } from '../../src/ports/dns01-solver.js';
import { useMotoRoute53 } from '../support/moto-route53.js';
import {
  getChangeAnswer,
  injectRoute53Answer,
  injectRoute53Fault,
  recordRoute53Requests,
} from '../support/route53-request-counter.js';

type ZoneKey = 'example' | 'team' | 'org';

const ZONE_DOMAINS: Record<ZoneKey, string> = {
  example: 'example.com',
  team: 'team.example.com', // nested inside example.com: longest suffix must win
  org: 'example.org',
};

/**
 * 25 certificate names over the three zones, each with the zone it must land in. Two
 * apex + wildcard pairs share a TXT name; `myteam.example.com` and `team-b.example.com` end
 * in "team.example.com"-like text but not on a label boundary, so they belong to example.com.
 */
const IDENTIFIERS: Array<[identifier: string, zone: ZoneKey]> = [
  ['example.com', 'example'],
  ['*.example.com', 'example'],
  ['www.example.com', 'example'],
  ['api.example.com', 'example'],
  ['mail.example.com', 'example'],
  ['cdn.eu.example.com', 'example'],
  ['myteam.example.com', 'example'],
  ['team-b.example.com', 'example'],
  ['shop.example.com', 'example'],
  ['team.example.com', 'team'],
  ['*.team.example.com', 'team'],
  ['x.team.example.com', 'team'],
  ['y.team.example.com', 'team'],
  ['deep.x.team.example.com', 'team'],
  ['ci.team.example.com', 'team'],
  ['build.team.example.com', 'team'],
  ['docs.team.example.com', 'team'],
  ['example.org', 'org'],
  ['www.example.org', 'org'],
  ['api.example.org', 'org'],
  ['blog.example.org', 'org'],
  ['status.example.org', 'org'],
  ['a.b.c.example.org', 'org'],
  ['Mixed.Case.Example.ORG', 'org'],
  ['last.example.org', 'org'],
];

let counter = 0;
/** A DNS-01 shaped value (43 base64url characters), distinct per call. */
function txtValue(): string {
  counter += 1;
  return `${counter.toString(36).padStart(6, '0')}${'v'.repeat(37)}`;
}

/** The DNS-01 TXT name of a certificate identifier (RFC 8555: the wildcard label drops). */
function challengeName(identifier: string): string {
  return `_acme-challenge.${identifier.replace(/^\*\./, '')}`;
}

function batchOfRecords(): Array<TxtRecord & { zone: ZoneKey }> {
  return IDENTIFIERS.map(([identifier, zone]) => ({
    name: challengeName(identifier),
    value: txtValue(),
    zone,
  }));
}

async function failure(promise: Promise<unknown>): Promise<CertloopError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CertloopError);
  return error as CertloopError;
}

const sorted = (values: readonly string[]) => [...values].sort();

describe('Route53Dns01Solver on moto', () => {
  const moto = useMotoRoute53();
  let zoneIds: Record<ZoneKey, string>;

  beforeEach(async () => {
    await moto().reset();
    zoneIds = {
      example: await moto().createZone(ZONE_DOMAINS.example),
      team: await moto().createZone(ZONE_DOMAINS.team),
      org: await moto().createZone(ZONE_DOMAINS.org),
    };
  });

  function zonesConfig(roles: Partial<Record<ZoneKey, string>> = {}) {
    return (Object.keys(ZONE_DOMAINS) as ZoneKey[]).map((key) => ({
      hostedZoneId: zoneIds[key],
      domain: ZONE_DOMAINS[key],
      ...(roles[key] === undefined ? {} : { roleArn: roles[key] }),
    }));
  }

  function newSolver(
    client: Route53Client,
    options: Partial<Route53Dns01SolverOptions> = {},
  ): Route53Dns01Solver {
    return new Route53Dns01Solver({
      zones: zonesConfig(),
      client,
      propagationTimeoutMs: 2_000,
      pollIntervalMs: 50,
      ...options,
    });
  }

  function zoneKeyOf(hostedZoneId: string): ZoneKey {
    const key = (Object.keys(zoneIds) as ZoneKey[]).find((k) => zoneIds[k] === hostedZoneId);
    if (!key) throw new Error(`change sent to unknown hosted zone ${hostedZoneId}`);
    return key;
  }

  /** Every `_acme-challenge` TXT record left in any of the three zones. */
  async function challengeRecordsLeft() {
    const left: Array<{ zone: ZoneKey; name: string; values: string[] }> = [];
    for (const zone of Object.keys(zoneIds) as ZoneKey[]) {
      for (const record of await moto().txtRecords(zoneIds[zone])) {
        if (record.name.startsWith('_acme-challenge.')) left.push({ zone, ...record });
      }
    }
    return left;
  }

  describe('(a) one change per hosted zone', () => {
    it('presents 25 names over 3 zones with exactly 3 ChangeResourceRecordSets, each in the right zone', async () => {
      const client = moto().client();
      const requests = recordRoute53Requests(client);
      const solver = newSolver(client);
      const records = batchOfRecords();

      await solver.present(records);

      expect(requests.count('ChangeResourceRecordSetsCommand')).toBe(3);
      expect(sorted(requests.changeBatches.map((batch) => zoneKeyOf(batch.hostedZoneId)))).toEqual([
        'example',
        'org',
        'team',
      ]);

      // Where each TXT name must go, from the table above (not from the solver's logic).
      const expectedZone = new Map<string, ZoneKey>();
      const expectedValues = new Map<string, string[]>();
      for (const { name, value, zone } of records) {
        const key = name.toLowerCase();
        expectedZone.set(key, zone);
        expectedValues.set(key, [...(expectedValues.get(key) ?? []), value]);
      }
      expect(expectedZone.size).toBe(23); // 25 names, two apex + wildcard pairs

      const seen: string[] = [];
      for (const batch of requests.changeBatches) {
        const zone = zoneKeyOf(batch.hostedZoneId);
        for (const change of batch.changes) {
          const set = change.ResourceRecordSet;
          const name = (set?.Name ?? '').toLowerCase().replace(/\.$/, '');
          seen.push(name);
          expect({ name, zone }).toEqual({ name, zone: expectedZone.get(name) });
          expect(change.Action).toBe('UPSERT');
          expect(set?.Type).toBe('TXT');
          expect(set?.TTL).toBe(60);
          // Every value of the name in this one change, quoted.
          expect(sorted((set?.ResourceRecords ?? []).map((record) => record.Value ?? ''))).toEqual(
            sorted((expectedValues.get(name) ?? []).map((value) => `"${value}"`)),
          );
        }
      }
      // One UPSERT per TXT name, no name twice, none missing.
      expect(sorted(seen)).toEqual(sorted([...expectedZone.keys()]));

      // What Route 53 (moto) now serves: the shared names carry both values...
      const apex = records.filter((r) => r.name === '_acme-challenge.example.com');
      expect(apex).toHaveLength(2);
      expect(
        sorted(await moto().txtValues(zoneIds.example, '_acme-challenge.example.com')),
      ).toEqual(sorted(apex.map((r) => r.value)));
      const teamApex = records.filter((r) => r.name === '_acme-challenge.team.example.com');
      expect(
        sorted(await moto().txtValues(zoneIds.team, '_acme-challenge.team.example.com')),
      ).toEqual(sorted(teamApex.map((r) => r.value)));

      // ...and each zone holds exactly its own names: nothing of team.example.com in example.com.
      const left = await challengeRecordsLeft();
      for (const zone of Object.keys(zoneIds) as ZoneKey[]) {
        expect(sorted(left.filter((r) => r.zone === zone).map((r) => r.name))).toEqual(
          sorted([...expectedZone].filter(([, z]) => z === zone).map(([name]) => name)),
        );
      }
      const underTeam = /(^|\.)team\.example\.com$/;
      expect(left.filter((r) => r.zone === 'example' && underTeam.test(r.name))).toEqual([]);

      await solver.cleanup(records);
    });

    it('merges a later batch with values already published on the same name, by anyone', async () => {
      const client = moto().client();
      const solver = newSolver(client);
      const name = '_acme-challenge.www.example.com';
      // Someone else's value, written straight through the API with another TTL.
      await client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zoneIds.example,
          ChangeBatch: {
            Changes: [
              {
                Action: 'UPSERT',
                ResourceRecordSet: {
                  Name: name,
                  Type: 'TXT',
                  TTL: 300,
                  ResourceRecords: [{ Value: '"someone-else"' }],
                },
              },
            ],
          },
        }),
      );
      const first = { name, value: txtValue() };
      const second = { name, value: txtValue() };
      await solver.present([first]);
      await solver.present([second, first]);
      expect(sorted(await moto().txtValues(zoneIds.example, name))).toEqual(
        sorted(['someone-else', first.value, second.value]),
      );
      await solver.cleanup([first, second]);
      expect(await moto().txtValues(zoneIds.example, name)).toEqual(['someone-else']);
    });
  });

  it('splits a zone change only where one request would exceed Route 53 limits', async () => {
    const client = moto().client();
    const requests = recordRoute53Requests(client);
    const solver = newSolver(client);
    // 100 names with 200-character values: 100 records, but 100 × 202 characters × 2
    // (UPSERT counts double) is over Route 53's 32,000 characters per request.
    const records = Array.from({ length: 100 }, (_, index) => ({
      name: `_acme-challenge.host-${index}.example.org`,
      value: `${txtValue()}${'w'.repeat(157)}`,
    }));
    await solver.present(records);
    const batches = requests.changeBatches;
    expect(batches.length).toBe(2);
    for (const batch of batches) {
      const values = batch.changes.flatMap((c) => c.ResourceRecordSet?.ResourceRecords ?? []);
      expect(values.length * 2).toBeLessThanOrEqual(1_000);
      expect(values.reduce((sum, r) => sum + (r.Value ?? '').length, 0) * 2).toBeLessThanOrEqual(
        32_000,
      );
    }
    expect(batches.flatMap((b) => b.changes)).toHaveLength(100);
    requests.clear();
    await solver.waitForPropagation(records);
    expect(requests.count('GetChangeCommand')).toBe(2);
    expect(await challengeRecordsLeft()).toHaveLength(100);
    await solver.cleanup(records);
    expect(await challengeRecordsLeft()).toEqual([]);
  });

  describe('(b) propagation', () => {
    it('waits once per change with GetChange, all in parallel, not once per name', async () => {
      const client = moto().client();
      const requests = recordRoute53Requests(client);
      // Every GetChange takes 200 ms, so parallel waits overlap and sequential ones do not.
      let inFlight = 0;
      let maxInFlight = 0;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName !== 'GetChangeCommand') return next(args);
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            await new Promise((resolve) => setTimeout(resolve, 200));
            return await next(args);
          } finally {
            inFlight -= 1;
          }
        },
        { step: 'initialize', name: 'slowGetChange' },
      );
      const solver = newSolver(client);
      const records = batchOfRecords();
      await solver.present(records);
      const changes = requests.changeBatches.length;
      expect(changes).toBe(3);
      requests.clear();

      await solver.waitForPropagation(records);

      // moto answers INSYNC at once, so one GetChange per change; 25 names, 3 changes.
      expect(requests.commands).toEqual(Array(changes).fill('GetChangeCommand'));
      expect(maxInFlight).toBe(changes);
      await solver.cleanup(records);
    });

    it('keeps polling a PENDING change until it is INSYNC', async () => {
      const client = moto().client();
      const requests = recordRoute53Requests(client);
      const pending = injectRoute53Answer(client, {
        command: 'GetChangeCommand',
        status: 200,
        body: getChangeAnswer('PENDING'),
        times: 3,
      });
      const solver = newSolver(client);
      const record = { name: '_acme-challenge.www.example.org', value: txtValue() };
      await solver.present([record]);
      await solver.waitForPropagation([record]);
      expect(pending.hits).toBe(3);
      expect(requests.count('GetChangeCommand')).toBe(4); // 3 × PENDING, then moto's INSYNC
      await solver.cleanup([record]);
    });

    it('fails with a transient error naming the names when a change stays PENDING', async () => {
      const client = moto().client();
      injectRoute53Answer(client, {
        command: 'GetChangeCommand',
        status: 200,
        body: getChangeAnswer('PENDING'),
      });
      const solver = newSolver(client, { propagationTimeoutMs: 400, pollIntervalMs: 50 });
      const record = { name: '_acme-challenge.api.example.org', value: txtValue() };
      await solver.present([record]);
      const error = await failure(solver.waitForPropagation([record]));
      expect(error.kind).toBe('transient');
      expect(error.source).toBe('dns');
      expect(error.message).toContain('PENDING');
      expect(error.message).toContain(record.name);
      expect(error.message).toContain(zoneIds.org);
      await solver.cleanup([record]);
    });

    it('reports a GetChange throttled until the deadline as infrastructure, not as slow DNS', async () => {
      const client = moto().client({ maxAttempts: 1 });
      const solver = newSolver(client, { propagationTimeoutMs: 400, pollIntervalMs: 50 });
      const record = { name: '_acme-challenge.api.example.com', value: txtValue() };
      await solver.present([record]);
      const throttled = injectRoute53Fault(client, {
        command: 'GetChangeCommand',
        status: 400,
        code: 'Throttling',
        message: 'Rate exceeded',
      });
      const error = await failure(solver.waitForPropagation([record]));
      expect(error.kind).toBe('infrastructure');
      expect(error.message).toContain('Throttling');
      expect(throttled.hits).toBeGreaterThan(1); // the SDK waiter polled through the errors
      throttled.remove();
      await solver.cleanup([record]);
    });
  });

  describe('(c) cleanup', () => {
    it('leaves no _acme-challenge record in any zone, one change per zone', async () => {
      const client = moto().client();
      const requests = recordRoute53Requests(client);
      const solver = newSolver(client);
      const records = batchOfRecords();
      await solver.present(records);
      await solver.waitForPropagation(records);
      expect(await challengeRecordsLeft()).toHaveLength(23);
      requests.clear();

      await solver.cleanup(records);

      expect(requests.count('ChangeResourceRecordSetsCommand')).toBe(3);
      for (const batch of requests.changeBatches) {
        for (const change of batch.changes) expect(change.Action).toBe('DELETE');
      }
      expect(await challengeRecordsLeft()).toEqual([]);
    });

    it('keeps a value another solver instance published on one of the names', async () => {
      const first = newSolver(moto().client());
      const secondClient = moto().client();
      const second = newSolver(secondClient);
      const records = batchOfRecords();
      await first.present(records);
      const shared = '_acme-challenge.example.com'; // already two values of the first solver
      const theirs = { name: shared, value: txtValue() };
      await second.present([theirs]);
      expect(sorted(await moto().txtValues(zoneIds.example, shared))).toHaveLength(3);

      const requests = recordRoute53Requests(secondClient);
      await first.cleanup(records);

      expect(await challengeRecordsLeft()).toEqual([
        { zone: 'example', name: shared, values: [theirs.value] },
      ]);
      await second.cleanup([theirs]);
      expect(await challengeRecordsLeft()).toEqual([]);
      expect(requests.changeBatches).toHaveLength(1);
      expect(requests.changeBatches[0]?.changes.map((change) => change.Action)).toEqual(['DELETE']);
    });

    it('cleans up a value that is gone already without touching Route 53', async () => {
      const client = moto().client();
      const requests = recordRoute53Requests(client);
      const solver = newSolver(client);
      await solver.cleanup([{ name: '_acme-challenge.gone.example.org', value: txtValue() }]);
      expect(requests.count('ChangeResourceRecordSetsCommand')).toBe(0);
    });
  });

  describe('(d) names outside every zone', () => {
    it.each([
      '_acme-challenge.example.net',
      '_acme-challenge.badexample.com', // ends in "example.com", not on a label boundary
      '_acme-challenge.com',
    ])('fails %s with a permanent error naming it, before writing anything', async (name) => {
      const client = moto().client();
      const requests = recordRoute53Requests(client);
      const solver = newSolver(client);
      const error = await failure(
        solver.present([
          { name: '_acme-challenge.www.example.com', value: txtValue() },
          { name, value: txtValue() },
        ]),
      );
      expect(error.kind).toBe('permanent');
      expect(error.source).toBe('dns');
      expect(error.message).toContain(name);
      expect(error.message).toContain('team.example.com');
      expect(requests.count('ChangeResourceRecordSetsCommand')).toBe(0);
      expect(await challengeRecordsLeft()).toEqual([]);
    });

    it('refuses a record that is not an _acme-challenge name', async () => {
      const solver = newSolver(moto().client());
      const error = await failure(solver.present([{ name: 'www.example.com', value: 'x' }]));
      expect(error.kind).toBe('permanent');
      expect(error.message).toContain('www.example.com');
    });
  });

  describe('(e) Route 53 errors', () => {
    const record = { name: '_acme-challenge.api.example.com', value: 'value-for-error-tests' };

    it.each([
      { status: 400, code: 'Throttling', label: 'Throttling', kind: 'infrastructure' },
      {
        status: 400,
        code: 'PriorRequestNotComplete',
        label: 'PriorRequestNotComplete',
        kind: 'infrastructure',
      },
      { status: 503, code: undefined, label: 'an empty body', kind: 'infrastructure' },
      { status: 500, code: 'InternalFailure', label: 'InternalFailure', kind: 'infrastructure' },
      { status: 400, code: 'InvalidChangeBatch', label: 'InvalidChangeBatch', kind: 'transient' },
      { status: 403, code: 'AccessDenied', label: 'AccessDenied', kind: 'permanent' },
    ] as const)(
      'ChangeResourceRecordSets answering HTTP $status with $label is $kind',
      async ({ status, code, kind }) => {
        const client = moto().client({ maxAttempts: 1 });
        injectRoute53Fault(client, {
          command: 'ChangeResourceRecordSetsCommand',
          status,
          ...(code === undefined ? {} : { code, message: `injected ${code}` }),
        });
        const error = await failure(newSolver(client).present([record]));
        expect(error.kind).toBe(kind);
        expect(error.source).toBe('dns');
        expect(error.message).toContain(zoneIds.example);
        if (code !== undefined) expect(error.message).toContain(`injected ${code}`);
        expect(await challengeRecordsLeft()).toEqual([]);
      },
    );

    it('a throttled read of the current values is infrastructure too', async () => {
      const client = moto().client({ maxAttempts: 1 });
      injectRoute53Fault(client, {
        command: 'ListResourceRecordSetsCommand',
        status: 400,
        code: 'Throttling',
        message: 'Rate exceeded',
      });
      const error = await failure(newSolver(client).cleanup([record]));
      expect(error.kind).toBe('infrastructure');
      expect(error.message).toContain(record.name);
    });

    it('an AccessDenied names the zone and the permissions to grant', async () => {
      const client = moto().client({ maxAttempts: 1 });
      injectRoute53Fault(client, {
        command: 'ChangeResourceRecordSetsCommand',
        status: 403,
        code: 'AccessDenied',
        message: 'User is not authorized',
      });
      const error = await failure(newSolver(client).present([record]));
      expect(error.kind).toBe('permanent');
      expect(error.message).toContain(`${zoneIds.example} (example.com)`);
      expect(error.message).toContain('route53:ChangeResourceRecordSets');
    });

    it('one throttled answer is retried by the SDK and the present succeeds', async () => {
      const client = moto().client();
      const throttled = injectRoute53Fault(client, {
        command: 'ChangeResourceRecordSetsCommand',
        status: 400,
        code: 'Throttling',
        times: 1,
      });
      const solver = newSolver(client);
      await solver.present([record]);
      expect(throttled.hits).toBe(1);
      expect(await moto().txtValues(zoneIds.example, record.name)).toEqual([record.value]);
      await solver.cleanup([record]);
    });

    it('a hosted zone id that does not exist is permanent, naming the zone (moto answers NoSuchHostedZone)', async () => {
      const solver = new Route53Dns01Solver({
        zones: [{ hostedZoneId: 'ZNOSUCHZONE123', domain: 'example.com' }],
        client: moto().client({ maxAttempts: 1 }),
      });
      const error = await failure(solver.present([record]));
      expect(error.kind).toBe('permanent');
      expect(error.message).toContain('ZNOSUCHZONE123');
      expect(error.message).toContain('example.com');
    });

    it('an unreachable Route 53 is infrastructure', async () => {
      // Only this client names an endpoint: a closed port, to get a connection refused.
      const client = moto().client({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
      const error = await failure(newSolver(client).present([record]));
      expect(error.kind).toBe('infrastructure');
      expect(error.source).toBe('dns');
    });
  });

  describe('(f) zones in other accounts', () => {
    it('uses the client from clientForRole for a zone with a roleArn, once per role', async () => {
      const roleArn = 'arn:aws:iam::111122223333:role/certloop-dns01';
      const plainClient = moto().client();
      const plainRequests = recordRoute53Requests(plainClient);
      const roles: string[] = [];
      let roleRequests: ReturnType<typeof recordRoute53Requests> | undefined;
      const solver = new Route53Dns01Solver({
        zones: zonesConfig({ org: roleArn }),
        client: plainClient,
        clientForRole: (arn) => {
          roles.push(arn);
          const client = moto().client();
          roleRequests = recordRoute53Requests(client);
          return client;
        },
        propagationTimeoutMs: 2_000,
        pollIntervalMs: 50,
      });
      const records = batchOfRecords();
      await solver.present(records);
      await solver.waitForPropagation(records);
      await solver.cleanup(records);

      expect(roles).toEqual([roleArn]);
      const zonesOf = (requests: typeof plainRequests | undefined) =>
        [...new Set(requests?.changeBatches.map((batch) => zoneKeyOf(batch.hostedZoneId)))].sort();
      expect(zonesOf(roleRequests)).toEqual(['org']);
      expect(zonesOf(plainRequests)).toEqual(['example', 'team']);
      expect(roleRequests?.count('GetChangeCommand')).toBe(1);
      expect(plainRequests.count('GetChangeCommand')).toBe(2);
      expect(await challengeRecordsLeft()).toEqual([]);
    });

    // moto keeps one Route 53 per account and gives AssumeRole credentials the role's
    // account: a zone of the default account is found only through a role of that account.
    it('by default assumes the role through STS (moto) and writes with its credentials', async () => {
      const sameAccount = 'arn:aws:iam::123456789012:role/certloop-dns01';
      const solver = new Route53Dns01Solver({
        zones: [{ hostedZoneId: zoneIds.org, domain: 'example.org', roleArn: sameAccount }],
        propagationTimeoutMs: 2_000,
        pollIntervalMs: 50,
      });
      const record = { name: '_acme-challenge.example.org', value: txtValue() };
      await solver.present([record]);
      await solver.waitForPropagation([record]);
      expect(await moto().txtValues(zoneIds.org, record.name)).toEqual([record.value]);
      await solver.cleanup([record]);
      expect(await challengeRecordsLeft()).toEqual([]);

      // The same zone id through a role of another account: the credentials really are the
      // assumed role's, so that account has no such zone.
      const otherAccount = 'arn:aws:iam::111122223333:role/certloop-dns01';
      const elsewhere = new Route53Dns01Solver({
        zones: [{ hostedZoneId: zoneIds.org, domain: 'example.org', roleArn: otherAccount }],
      });
      const error = await failure(elsewhere.present([record]));
      expect(error.kind).toBe('permanent');
      expect(error.message).toContain('NoSuchHostedZone');
      expect(error.message).toContain(zoneIds.org);
    });
  });
});

describe('Route 53 names and TXT values', () => {
  it('normalizes names the way Route 53 returns them', () => {
    expect(normalizeName('\\052.Example.COM.')).toBe('*.example.com');
    expect(normalizeName('_acme-challenge.example.com')).toBe('_acme-challenge.example.com');
  });

  it('quotes TXT values, splits long ones, and reads them back', () => {
    expect(encodeTxt('abc')).toBe('"abc"');
    expect(decodeTxt('"abc"')).toBe('abc');
    expect(decodeTxt('"a\\"b" "c\\\\d"')).toBe('a"bc\\d');
    const long = 'x'.repeat(300);
    expect(encodeTxt(long)).toBe(`"${'x'.repeat(255)}" "${'x'.repeat(45)}"`);
    expect(decodeTxt(encodeTxt(long))).toBe(long);
    expect(decodeTxt(encodeTxt('say "hi" \\ bye'))).toBe('say "hi" \\ bye');
  });

  it('rejects a configuration with no zone or two zones for one domain', () => {
    expect(() => new Route53Dns01Solver({ zones: [] })).toThrow(CertloopError);
    expect(
      () =>
        new Route53Dns01Solver({
          zones: [
            { hostedZoneId: 'Z1', domain: 'example.com' },
            { hostedZoneId: 'Z2', domain: 'Example.com.' },
          ],
        }),
    ).toThrow(/two hosted zones configured for example\.com/);
  });
});
