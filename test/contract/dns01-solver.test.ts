import { Resolver } from 'node:dns/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { Route53Dns01Solver } from '../../src/adapters/aws/route53-dns01-solver.js';
import { ChalltestsrvDns01Solver } from '../../src/adapters/local/challtestsrv-dns01-solver.js';
import { MemoryDns01Solver } from '../../src/adapters/memory/memory-dns01-solver.js';
import { CertloopError } from '../../src/core/errors.js';
import { useMotoRoute53 } from '../support/moto-route53.js';
import { usePebble } from '../support/pebble.js';
import { dns01SolverContract } from './dns01-solver.contract.js';

describe('MemoryDns01Solver', () => {
  dns01SolverContract('memory', () => {
    const solver = new MemoryDns01Solver();
    return { solver, lookup: async (name) => solver.published(name) };
  });

  it('counts present calls and reports published values per name', async () => {
    const solver = new MemoryDns01Solver();
    await solver.present([{ name: '_acme-challenge.a.test', value: 'x' }]);
    await solver.present([{ name: '_acme-challenge.A.test.', value: 'y' }]);
    expect(solver.presentCalls).toBe(2);
    expect(solver.published('_acme-challenge.a.test')).toEqual(['x', 'y']);
  });
});

describe('ChalltestsrvDns01Solver', () => {
  const pebble = usePebble();

  /** Reads TXT values through real DNS queries, independently of the solver. */
  function dnsLookup(dnsServer: string) {
    const resolver = new Resolver({ timeout: 1_000, tries: 2 });
    resolver.setServers([dnsServer]);
    return async (name: string) => {
      try {
        return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
      } catch (error) {
        if ((error as { code?: string }).code === 'ENODATA') return [];
        throw error;
      }
    };
  }

  dns01SolverContract('challtestsrv', () => {
    const { challtestsrvUrl, dnsServer } = pebble();
    const solver = new ChalltestsrvDns01Solver({
      managementUrl: challtestsrvUrl,
      dnsServer,
      propagationTimeoutMs: 1_000,
    });
    return { solver, lookup: dnsLookup(dnsServer) };
  });

  it('cleanup by one instance keeps the values another instance published on the same name', async () => {
    const { challtestsrvUrl, dnsServer } = pebble();
    const options = { managementUrl: challtestsrvUrl, dnsServer };
    const first = new ChalltestsrvDns01Solver(options);
    const second = new ChalltestsrvDns01Solver(options);
    const name = '_acme-challenge.shared.certloop.test';
    const mine = { name, value: 'value-of-the-first-instance-aaaaaaaaaaaaaaaa' };
    const theirs = { name, value: 'value-of-the-second-instance-bbbbbbbbbbbbbbb' };
    await first.present([mine]);
    await second.present([theirs]);
    await first.cleanup([mine]);
    expect(await dnsLookup(dnsServer)(name)).toEqual([theirs.value]);
    await second.cleanup([theirs]);
    expect(await dnsLookup(dnsServer)(name)).toEqual([]);
  });

  it('reports an unreachable management API as a transient CertloopError naming the host', async () => {
    const { dnsServer } = pebble();
    const solver = new ChalltestsrvDns01Solver({ managementUrl: 'http://127.0.0.1:9', dnsServer });
    const name = '_acme-challenge.unreachable.certloop.test';
    const error = await solver.present([{ name, value: 'v' }]).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(CertloopError);
    expect((error as CertloopError).kind).toBe('transient');
    expect((error as CertloopError).source).toBe('dns');
    expect((error as CertloopError).message).toContain(name);
  });
});

describe('Route53Dns01Solver', () => {
  const moto = useMotoRoute53();
  // The contract's names are all `_acme-challenge.<label>.certloop.test`: one hosted zone.
  let hostedZoneId = '';
  beforeAll(async () => {
    hostedZoneId = await moto().createZone('certloop.test');
  });

  dns01SolverContract('route53 on moto', () => {
    const solver = new Route53Dns01Solver({
      zones: [{ hostedZoneId, domain: 'certloop.test' }],
      client: moto().client(),
      propagationTimeoutMs: 2_000,
      pollIntervalMs: 50,
    });
    // Reads the zone back with ListResourceRecordSets, independently of the solver.
    return { solver, lookup: (name) => moto().txtValues(hostedZoneId, name) };
  });
});
