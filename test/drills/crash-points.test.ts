/**
 * Drill R2: a crash injected at each step of an issuance, 20 runs per step: no lost
 * certificate, no key/certificate mismatch, no lease held past its expiry, finished
 * orders resumed rather than re-placed.
 *
 * What it proves: for each of the six crash points of test/support/crash-worker.ts
 * (after lease, after order, after challenge, after finalize, after secret write, before
 * record update), 20 crash/resume cycles (120 in all) where a worker process dies in
 * the middle of an issuance and, once its lease has expired, a healthy worker finishes
 * the job. Afterwards, for every record involved: the certificate exists, matches its
 * key, its SANs are the record's names and its key is of the record's type; the secret
 * store made exactly one new version for the issuance (no duplicate publish) and, for
 * a renewal, the previous certificate is still readable with its key; no lease is held;
 * an order the dead worker had recorded (or finished) was resumed, so the issuance took
 * exactly one order, and otherwise the next worker placed exactly one new order. For the
 * record the crash was aimed at, what the dead worker left (order placed, order
 * recorded, certificate published, record updated) is checked against the point, and
 * while its lease lives nobody else touches the record.
 *
 * The runs differ, from a seeded random source per (point, run): first issuance or a
 * renewal of an existing certificate (by a key type change, a names change or a forced
 * renewal), 1 to 3 names (with www and wildcard names), four key types, a single record
 * or a batch of 2-4 records where the crash hits one record mid-batch while the others
 * are wherever the batch's concurrency took them (and, beside it, a healthy worker
 * issues 1-2 records of its own at the same time: only one worker crashes), and the
 * moment within the step: when the step's call returned, or while its request is in
 * flight (the process dies after a random delay and never sees the answer; the server
 * completes the request), and for the order step also just before the new-order request,
 * with it in flight, or with the order placed but not yet recorded. Moments, first
 * issuance vs renewal and single vs batch are cycled so every point covers each.
 *
 * CA: real pebble (+ challtestsrv), not the in-process fake: with runs in 6 lanes
 * (each run on its own manual clock, so that advancing one run's clock past its lease
 * expires nobody else's) the 120 cycles plus their renewals take about 2 minutes on a
 * 2-core machine. The dead and the healthy workers get their batches directly (as the
 * AWS worker gets a queue message), not through a tick, so that no run picks up another
 * run's records.
 *
 * Run: npx vitest run --project drill test/drills/crash-points.test.ts
 * (or `npm run drill` for every drill followed by the key-material audit). It prints a
 * summary table per crash point.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFolderName } from '../../src/adapters/local/directory-files.js';
import { MemoryControlRecords } from '../../src/adapters/memory/memory-control-records.js';
import type { CertificateRecord } from '../../src/core/certificate-record.js';
import { isDue } from '../../src/core/issuance-checks.js';
import type { KeyType } from '../../src/core/key-type.js';
import { HOUR, MINUTE } from '../../src/core/time.js';
import type { CertificateBundle } from '../../src/ports/secret-store.js';
import { mapWithConcurrency } from '../../src/services/concurrency.js';
import { forceRenewal } from '../../src/services/force-renewal.js';
import { type IssuanceDeps, issueCertificates } from '../../src/services/issue-certificates.js';
import { registerCertificate } from '../../src/services/register-certificates.js';
import {
  CRASH_MOMENTS,
  CRASH_POINTS,
  type CrashMoment,
  type CrashPoint,
  crashingWorker,
  expectedAftermath,
} from '../support/crash-worker.js';
import { type EngineHarness, startEngineHarness } from '../support/engine-harness.js';
import { intercept } from '../support/faults.js';
import { ManualClock, seededRandom } from '../support/manual-clock.js';
import { sansOf } from '../support/test-certificates.js';

const RUNS_PER_POINT = 20;
/** Runs in parallel (each on its own clock and its own records). */
const LANES = 6;
const SEED = 20261123;
/** The harness's lease length. */
const LEASE_MS = 10 * MINUTE;
const KEY_TYPES: readonly KeyType[] = ['ec-p256', 'ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072'];
/** The longest random delay of an in-flight crash, by the kind of request. */
const MAX_DELAY_MS = { ca: 800, store: 25 };

type RenewalTrigger = 'key-type' | 'names' | 'forced';

interface RecordPlan {
  id: string;
  domains: string[];
  wildcards: string[];
  keyType: KeyType;
  /** A renewal: the record first gets a certificate, then this makes it due again. */
  renewal?: { trigger: RenewalTrigger; keyType: KeyType; extraName: string };
}

interface RunPlan {
  point: CrashPoint;
  run: number;
  seed: number;
  moment: CrashMoment;
  delayMs: number;
  /** The dead worker's batch. */
  batch: RecordPlan[];
  /** The record whose step kills the worker. */
  target: string;
  /** Records a healthy worker issues at the same time as the dead one works. */
  neighbours: RecordPlan[];
  /** Records the dead worker works on in parallel inside its batch. */
  concurrency: number;
}

interface RunResult {
  plan: RunPlan;
  /** The target's order was recorded (or finished) by the dead worker and resumed. */
  targetResumed: boolean;
  /** Orders the healthy worker placed for the target. */
  targetNewOrders: number;
  bystanders: number;
  bystandersResumed: number;
  bystanderNewOrders: number;
  /** Staged keys left in the store after the run (informational). */
  leftoverStagedKeys: number;
  ms: number;
}

const ABBREVIATION: Record<CrashPoint, string> = {
  'after-lease': 'lease',
  'after-order': 'order',
  'after-challenge': 'chall',
  'after-finalize': 'final',
  'after-secret-write': 'secret',
  'before-record-update': 'update',
};

/** The plan of one run: a pure function of (point, run). */
function planRun(point: CrashPoint, run: number): RunPlan {
  const seed = SEED + CRASH_POINTS.indexOf(point) * 1000 + run;
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));

  // Cycle the moments, then first issuance vs renewal, then single vs batch, so that
  // each point covers every combination (a point with 5 moments: exactly once each).
  const moments = CRASH_MOMENTS[point];
  const moment = moments[run % moments.length] as CrashMoment;
  const targetRenews = Math.floor(run / moments.length) % 2 === 1;
  const isBatch = Math.floor(run / (2 * moments.length)) % 2 === 1;

  const record = (suffix: string, renews: boolean): RecordPlan => {
    const id = `${ABBREVIATION[point]}-${String(run).padStart(2, '0')}-${suffix}`;
    const base = `${id}.example.test`;
    // 1 to 3 names. A wildcard covers one label, so it goes with deeper names only.
    const shapes = [
      { domains: [base], wildcards: [] },
      { domains: [base, `www.${base}`], wildcards: [] },
      { domains: [base], wildcards: [base] },
      { domains: [base, `www.${base}`, `api.${base}`], wildcards: [] },
      { domains: [base, `static.cdn.${base}`], wildcards: [base] },
    ];
    const shape = between(1, 3);
    const { domains, wildcards } = pick(
      shape === 1 ? shapes.slice(0, 1) : shape === 2 ? shapes.slice(1, 3) : shapes.slice(3),
    );
    const keyType = pick(KEY_TYPES);
    return {
      id,
      domains,
      wildcards,
      keyType,
      ...(renews
        ? {
            renewal: {
              trigger: pick(['key-type', 'names', 'forced'] as const),
              keyType: pick(KEY_TYPES.filter((type) => type !== keyType)),
              extraName: `renewed.names.${base}`,
            },
          }
        : {}),
    };
  };

  const size = isBatch ? between(2, 4) : 1;
  const targetIndex = between(0, size - 1);
  const batch = Array.from({ length: size }, (_, i) =>
    record(String(i), i === targetIndex ? targetRenews : random() < 0.5),
  );
  const neighbours = isBatch
    ? Array.from({ length: between(1, 2) }, (_, i) => record(`n${i}`, random() < 0.5))
    : [];
  const inFlight = moment === 'in-flight' || moment === 'order-in-flight';
  const talksToCa =
    point === 'after-challenge' || point === 'after-finalize' || moment === 'order-in-flight';
  return {
    point,
    run,
    seed,
    moment,
    delayMs: inFlight ? between(0, talksToCa ? MAX_DELAY_MS.ca : MAX_DELAY_MS.store) : 0,
    batch,
    target: (batch[targetIndex] as RecordPlan).id,
    neighbours,
    concurrency: isBatch ? between(1, 3) : 1,
  };
}

function describePlan(plan: RunPlan): string {
  const target = plan.batch.find((r) => r.id === plan.target);
  const what = target?.renewal ? `renewal by ${target.renewal.trigger}` : 'first issuance';
  return (
    `${plan.point} run ${plan.run} (seed ${plan.seed}): moment ${plan.moment}` +
    `${plan.delayMs ? ` after ${plan.delayMs} ms` : ''}, target ${plan.target} (${what}), ` +
    `batch of ${plan.batch.length} at concurrency ${plan.concurrency}, ` +
    `${plan.neighbours.length} neighbour(s)`
  );
}

const namesKey = (names: readonly string[]) => [...names].sort().join(' ');

/** The key type of a certificate's public key, in the record's terms. */
function keyTypeOf(certificate: X509Certificate): string {
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') return `rsa-${details?.modulusLength}`;
  if (details?.namedCurve === 'prime256v1') return 'ec-p256';
  if (details?.namedCurve === 'secp384r1') return 'ec-p384';
  return `${key.asymmetricKeyType} ${details?.namedCurve ?? ''}`;
}

/** The bundle's certificate matches its key (checked without ever printing the key). */
function keyMatches(bundle: CertificateBundle): boolean {
  return new X509Certificate(bundle.fullchain).checkPrivateKey(
    createPrivateKey(bundle.privateKey.reveal()),
  );
}

async function runOnce(h: EngineHarness, plan: RunPlan): Promise<RunResult> {
  const started = performance.now();
  const tag = `${ABBREVIATION[plan.point]}-${plan.run}`;
  const clock = new ManualClock(Date.now());
  const worker = (owner: string, concurrency?: number): IssuanceDeps =>
    h.worker({ owner: `${owner}-${tag}`, clock, ...(concurrency ? { concurrency } : {}) });
  const registration = { ...h.registration(), clock };
  const all = [...plan.batch, ...plan.neighbours];
  const batchIds = plan.batch.map((r) => r.id);
  const neighbourIds = plan.neighbours.map((r) => r.id);

  // New versions each record's secret gets during the run, from any worker of the run.
  const created = new Map<string, number>();
  const counting = (deps: IssuanceDeps): IssuanceDeps => ({
    ...deps,
    secrets: intercept(deps.secrets, {
      writeCertificate: async (real, id, bundle, token) => {
        const result = await real.writeCertificate(id, bundle, token);
        if (result.created) created.set(id, (created.get(id) ?? 0) + 1);
        return result;
      },
    }),
  });
  const ordersFor = (record: CertificateRecord) =>
    h.orders.byDomains.get(namesKey(record.domains)) ?? 0;
  const read = async (id: string): Promise<CertificateRecord> => {
    const record = await h.records.get(id);
    if (!record) throw new Error(`record ${id} is gone`);
    return record;
  };

  for (const r of all) {
    await registerCertificate(registration, {
      id: r.id,
      domains: r.domains,
      wildcards: r.wildcards,
      keyType: r.keyType,
    });
  }

  // Renewals start from an issued certificate, then something makes them due again.
  const previous = new Map<string, CertificateBundle>();
  const renewals = all.filter((r) => r.renewal);
  if (renewals.length > 0) {
    const setup = await issueCertificates(
      worker('setup'),
      renewals.map((r) => r.id),
    );
    expect(
      setup.map((o) => `${o.id} ${o.outcome}${o.outcome === 'issued' ? '' : ` ${o.detail}`}`),
    ).toEqual(renewals.map((r) => `${r.id} issued`));
    for (const r of renewals) {
      const bundle = await h.secrets.readCertificate(r.id, 'current');
      if (!bundle) throw new Error(`setup issued no certificate for ${r.id}`);
      previous.set(r.id, bundle);
      const renewal = r.renewal as NonNullable<RecordPlan['renewal']>;
      const again = { id: r.id, domains: r.domains, wildcards: r.wildcards, keyType: r.keyType };
      if (renewal.trigger === 'key-type') {
        await registerCertificate(registration, { ...again, keyType: renewal.keyType });
      } else if (renewal.trigger === 'names') {
        await registerCertificate(registration, {
          ...again,
          domains: [...r.domains, renewal.extraName],
        });
      } else {
        await forceRenewal(
          {
            records: h.records,
            control: new MemoryControlRecords(),
            clock,
            logger: h.logger,
            budget: { orders: 300, windowMs: 3 * HOUR, slackMs: 10 * MINUTE },
          },
          { selector: { secret: r.id }, reason: 'crash drill', dryRun: false },
        );
      }
    }
  }

  const before = new Map<string, { serial: string | undefined; orders: number }>();
  for (const r of all) {
    const record = await read(r.id);
    expect(
      isDue(record, clock.now()),
      `${r.id} is due (${record.status} ${record.statusMessage ?? ''}, next attempt ${record.nextAttemptAt}, now ${clock.now()})`,
    ).toBe(true);
    before.set(r.id, { serial: record.current?.serial, orders: ordersFor(record) });
  }
  const old = (id: string) => before.get(id) as { serial: string | undefined; orders: number };

  // The dead worker takes its batch while a healthy neighbour issues its own.
  const doomedOwner = `doomed-${tag}`;
  const doomed = crashingWorker(counting(worker('doomed', plan.concurrency)), {
    point: plan.point,
    moment: plan.moment,
    recordId: plan.target,
    delayMs: plan.delayMs,
  });
  const neighbourRun =
    neighbourIds.length > 0
      ? issueCertificates(counting(worker('neighbour')), neighbourIds)
      : Promise.resolve([]);
  const doomedOutcomes = await issueCertificates(doomed.deps, batchIds);
  await doomed.settled();
  const neighbourOutcomes = await neighbourRun;
  expect(doomed.crashed, 'the worker crashed').toBe(true);
  expect(doomed.crashedOn, 'the crash hit the target').toBe(plan.target);
  expect(doomedOutcomes.find((o) => o.id === plan.target)?.outcome).not.toBe('issued');
  expect(neighbourOutcomes.map((o) => `${o.id} ${o.outcome}`)).toEqual(
    neighbourIds.map((id) => `${id} issued`),
  );

  // What the dead worker left behind.
  const crashedAt = clock.now();
  const left = new Map<string, { record: CertificateRecord; orders: number }>();
  for (const id of [...batchIds, ...neighbourIds]) {
    const record = await read(id);
    left.set(id, { record, orders: ordersFor(record) });
  }
  const leftBy = (id: string) => left.get(id) as { record: CertificateRecord; orders: number };
  const target = leftBy(plan.target);
  const targetBundle = await h.secrets.readCertificate(plan.target, 'current');
  expect(
    {
      orderPlaced: target.orders - old(plan.target).orders > 0,
      orderRecorded: target.record.order !== undefined,
      published: targetBundle?.serial !== old(plan.target).serial,
      recordUpdated: target.record.current?.serial !== old(plan.target).serial,
    },
    'what the dead worker left for the target',
  ).toEqual(expectedAftermath(plan.point, plan.moment));
  const held: string[] = [];
  for (const id of batchIds) {
    const { record, orders } = leftBy(id);
    // The dead worker placed at most one order per record.
    expect(orders - old(id).orders, `${id} orders placed by the dead worker`).toBeLessThanOrEqual(
      1,
    );
    if (record.lease) {
      // Held by the dead worker, and never for longer than one lease from its last write.
      expect(record.lease.owner, `${id} lease owner`).toBe(doomedOwner);
      expect(record.lease.until, `${id} lease expiry`).toBeLessThanOrEqual(crashedAt + LEASE_MS);
      held.push(id);
    }
  }
  expect(held.includes(plan.target), 'the target is still leased').toBe(
    !expectedAftermath(plan.point, plan.moment).recordUpdated,
  );

  // While the dead worker's lease lives, nobody else touches its records.
  if (held.length > 0) {
    const early = await issueCertificates(worker('early'), held);
    expect(early.map((o) => `${o.id} ${o.outcome}`)).toEqual(held.map((id) => `${id} busy`));
  }

  // Past the lease, a healthy worker takes the same batch.
  clock.advance(LEASE_MS + 1);
  for (const id of held) expect((await read(id)).lease?.until).toBeLessThan(clock.now());
  const healthy = await issueCertificates(counting(worker('healthy')), batchIds);
  const now = clock.now();

  let targetResumed = false;
  let targetNewOrders = 0;
  let bystandersResumed = 0;
  let bystanderNewOrders = 0;
  for (const r of all) {
    const id = r.id;
    const isNeighbour = neighbourIds.includes(id);
    const record = await read(id);
    const { record: atCrash, orders: ordersAtCrash } = leftBy(id);
    const finishedBeforeCrash = atCrash.current?.serial !== old(id).serial;
    const resumable = atCrash.order !== undefined || finishedBeforeCrash;
    const newOrders = ordersFor(record) - ordersAtCrash;
    const ordersOfIssuance = ordersFor(record) - old(id).orders;

    if (!isNeighbour) {
      const outcome = healthy.find((o) => o.id === id)?.outcome;
      expect(outcome, `${id} outcome for the healthy worker`).toBe(
        finishedBeforeCrash ? 'skipped' : 'issued',
      );
    }
    // A recorded or finished order is resumed: the issuance took exactly one order.
    if (resumable) {
      expect(newOrders, `${id}: a new order although one was resumable`).toBe(0);
      expect(ordersOfIssuance, `${id}: orders of the issuance`).toBe(1);
    } else {
      expect(newOrders, `${id}: new orders after the crash`).toBe(1);
      expect(ordersOfIssuance, `${id}: orders of the issuance`).toBeLessThanOrEqual(2);
    }

    expect(record.status, `${id} status`).toBe('active');
    expect(record.failures, `${id} failures`).toBe(0);
    expect(record.order, `${id} order left`).toBeUndefined();
    expect(record.lease === undefined || record.lease.until < now, `${id} lease left`).toBe(true);
    expect(record.nextAttemptAt, `${id} next attempt`).toBeGreaterThan(now);
    expect(record.current?.serial, `${id} serial`).not.toBe(old(id).serial);

    const current = await h.secrets.readCertificate(id, 'current');
    if (!current) throw new Error(`${id} has no current certificate`);
    const leaf = new X509Certificate(current.fullchain);
    expect(current.serial, `${id} published serial`).toBe(record.current?.serial);
    expect(keyMatches(current), `${id} key matches its certificate`).toBe(true);
    expect(sansOf(leaf), `${id} SANs`).toEqual([...record.domains].sort());
    expect(current.domains, `${id} bundle names`).toEqual([...record.domains].sort());
    expect(keyTypeOf(leaf), `${id} key type`).toBe(record.keyType);
    expect(current.keyType, `${id} bundle key type`).toBe(record.keyType);
    // Exactly one new version for this issuance, and the certificate before it kept.
    expect(created.get(id) ?? 0, `${id} new secret versions`).toBe(1);
    const kept = await h.secrets.readCertificate(id, 'previous');
    const was = previous.get(id);
    if (was) {
      expect(kept?.serial, `${id} previous certificate`).toBe(was.serial);
      expect(kept && keyMatches(kept), `${id} previous key matches`).toBe(true);
    } else {
      expect(kept, `${id} previous certificate of a first issuance`).toBeUndefined();
    }

    if (id === plan.target) {
      targetResumed = resumable;
      targetNewOrders = newOrders;
    } else if (!isNeighbour) {
      if (resumable) bystandersResumed += 1;
      bystanderNewOrders += newOrders;
    }
  }

  let leftoverStagedKeys = 0;
  for (const r of all) {
    const dir = join(h.secretsRoot, 'pending', toFolderName(r.id));
    leftoverStagedKeys += (await readdir(dir).catch(() => [])).length;
  }
  return {
    plan,
    targetResumed,
    targetNewOrders,
    bystanders: plan.batch.length - 1,
    bystandersResumed,
    bystanderNewOrders,
    leftoverStagedKeys,
    ms: performance.now() - started,
  };
}

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((row) => row[c]?.length ?? 0)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')).join('\n');
}

const HEADER = [
  'crash point',
  'runs',
  'first/renewal',
  'batch runs',
  'resumed orders',
  'new orders',
  'bystanders resumed/new orders',
  'staged keys left',
  'wall s',
];

function summaryRow(point: CrashPoint, results: RunResult[], seconds: number): string[] {
  const sum = (f: (r: RunResult) => number) => results.reduce((total, r) => total + f(r), 0);
  const renewals = results.filter((r) =>
    r.plan.batch.some((b) => b.id === r.plan.target && b.renewal),
  ).length;
  return [
    point,
    String(results.length),
    `${results.length - renewals}/${renewals}`,
    String(results.filter((r) => r.plan.batch.length > 1).length),
    String(sum((r) => (r.targetResumed ? 1 : 0))),
    String(sum((r) => r.targetNewOrders)),
    `${sum((r) => r.bystandersResumed)}/${sum((r) => r.bystanderNewOrders)} of ${sum((r) => r.bystanders)}`,
    String(sum((r) => r.leftoverStagedKeys)),
    seconds.toFixed(1),
  ];
}

describe(`a crash at each step of an issuance, ${RUNS_PER_POINT} runs each (dynalite + pebble)`, () => {
  let h: EngineHarness;
  const summary: string[][] = [];
  let drillStarted = 0;

  beforeAll(async () => {
    h = await startEngineHarness();
    drillStarted = performance.now();
  });
  afterAll(async () => {
    if (summary.length > 0) {
      const seconds = ((performance.now() - drillStarted) / 1000).toFixed(1);
      console.log(
        `R2 crash points: ${summary.length} points, ${h?.orders.placed ?? 0} orders in all, ${seconds} s\n` +
          `(resumed/new orders: the crashed record's order, resumed by the next worker or placed anew)\n` +
          table([HEADER, ...summary]),
      );
    }
    await h?.close();
  });

  it.each(CRASH_POINTS)(
    `%s: ${RUNS_PER_POINT} crash/resume runs lose no certificate, publish once, resume recorded orders`,
    async (point) => {
      const started = performance.now();
      const plans = Array.from({ length: RUNS_PER_POINT }, (_, run) => planRun(point, run));
      const failures: string[] = [];
      const results = await mapWithConcurrency(plans, LANES, async (plan) => {
        try {
          return await runOnce(h, plan);
        } catch (error) {
          failures.push(`${describePlan(plan)}\n  ${(error as Error).message}`);
          return undefined;
        }
      });
      const done = results.filter((r): r is RunResult => r !== undefined);
      const row = summaryRow(point, done, (performance.now() - started) / 1000);
      summary.push(row);
      console.log(table([HEADER, row]));

      expect(failures).toEqual([]);
      expect(done.length).toBe(RUNS_PER_POINT);
      // The variations really happened: every moment, first issuance and renewal, batches.
      expect(new Set(done.map((r) => r.plan.moment))).toEqual(new Set(CRASH_MOMENTS[point]));
      expect(done.some((r) => r.plan.batch.length > 1)).toBe(true);
      expect(done.some((r) => r.plan.batch.some((b) => b.id === r.plan.target && b.renewal))).toBe(
        true,
      );
      // After the order step every crashed issuance was resumed, never placed again.
      const aftermath = (r: RunResult) => expectedAftermath(r.plan.point, r.plan.moment);
      for (const r of done) {
        const recorded = aftermath(r).orderRecorded || aftermath(r).recordUpdated;
        expect(r.targetResumed, describePlan(r.plan)).toBe(recorded);
        expect(r.targetNewOrders, describePlan(r.plan)).toBe(recorded ? 0 : 1);
      }
    },
  );
});
