import type { CertificateRecord } from '../../src/core/certificate-record.js';
import type { AcmeCa } from '../../src/ports/acme-ca.js';
import type { IssuanceDeps } from '../../src/services/issue-certificates.js';
import { intercept, SimulatedCrash } from './faults.js';

/** The steps of an issuance a worker process can die at. */
export type CrashPoint =
  | 'after-lease'
  | 'after-order'
  | 'after-challenge'
  | 'after-finalize'
  | 'after-secret-write'
  | 'before-record-update';

export const CRASH_POINTS: readonly CrashPoint[] = [
  'after-lease',
  'after-order',
  'after-challenge',
  'after-finalize',
  'after-secret-write',
  'before-record-update',
];

/**
 * Where inside its step the process dies.
 * - `acknowledged`: the step's call returned; the process dies before using the answer.
 * - `in-flight`: the step's request went out; the process dies `delayMs` later or as the
 *   answer arrives, whichever comes first, and never sees the answer. The server
 *   finishes the request on its own (a lost acknowledgement).
 * - `before` (before-record-update): nothing of the step was sent.
 * - `before-order` (after-order): the order step began; the new-order request is not sent.
 * - `order-in-flight` (after-order): the new-order request went out, answer lost.
 * - `order-placed` (after-order): the CA answered with the order; it is not recorded yet.
 * For after-order, `acknowledged` and `in-flight` refer to the record write that stores
 * the order.
 */
export type CrashMoment =
  | 'acknowledged'
  | 'in-flight'
  | 'before'
  | 'before-order'
  | 'order-in-flight'
  | 'order-placed';

/** The moments each point supports; the first is the classic one (the default). */
export const CRASH_MOMENTS: Readonly<Record<CrashPoint, readonly CrashMoment[]>> = {
  'after-lease': ['acknowledged', 'in-flight'],
  'after-order': ['acknowledged', 'in-flight', 'order-placed', 'order-in-flight', 'before-order'],
  'after-challenge': ['acknowledged', 'in-flight'],
  'after-finalize': ['acknowledged', 'in-flight'],
  'after-secret-write': ['acknowledged', 'in-flight'],
  'before-record-update': ['before', 'in-flight'],
};

/** What the dead worker left behind for the record it died on, by point and moment. */
export interface CrashAftermath {
  /** It asked the CA for an order. */
  orderPlaced: boolean;
  /** The record stores that order (so the next worker resumes it). */
  orderRecorded: boolean;
  /** The new certificate and its key were published to the secret store. */
  published: boolean;
  /** The record names the new certificate (and its lease is released). */
  recordUpdated: boolean;
}

export function expectedAftermath(point: CrashPoint, moment: CrashMoment): CrashAftermath {
  const stepIndex = CRASH_POINTS.indexOf(point);
  const orderPlaced =
    stepIndex > CRASH_POINTS.indexOf('after-order') ||
    (point === 'after-order' && moment !== 'before-order');
  const orderRecorded =
    stepIndex > CRASH_POINTS.indexOf('after-order') ||
    (point === 'after-order' && (moment === 'acknowledged' || moment === 'in-flight'));
  const published = stepIndex >= CRASH_POINTS.indexOf('after-secret-write');
  const recordUpdated = point === 'before-record-update' && moment === 'in-flight';
  // Once the certificate is recorded the order is gone from the record.
  return { orderPlaced, orderRecorded: orderRecorded && !recordUpdated, published, recordUpdated };
}

export interface CrashPlan {
  point: CrashPoint;
  /** Default: the point's classic moment (the first of CRASH_MOMENTS[point]). */
  moment?: CrashMoment;
  /** Only this record's step kills the process; by default the first record to reach it. */
  recordId?: string;
  /** For the in-flight moments: how long after the request went out the process dies. Default 0. */
  delayMs?: number;
}

export interface CrashingWorker {
  /** The worker's adapters: pass them to issueCertificates or engineTick. */
  deps: IssuanceDeps;
  /** True once the process has died. */
  readonly crashed: boolean;
  /** The record whose step killed the process. */
  readonly crashedOn: string | undefined;
  /**
   * Resolves once the requests the process had in flight when it died have been answered
   * (servers finish them without the dead client), so that what follows sees their effect.
   */
  settled(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const namesKey = (names: readonly string[]) => [...names].sort().join(' ');

/**
 * A worker process that dies at `plan.point`: from that moment every call through its
 * record store, secret store, CA and DNS solver rejects, exactly like a crashed Lambda
 * whose half-done work is left to the next worker once the lease expires. `base` is a
 * healthy worker's adapters (its owner id is the dead worker's).
 */
export function crashingWorker(base: IssuanceDeps, plan: CrashPlan): CrashingWorker {
  const point = plan.point;
  const moment = plan.moment ?? (CRASH_MOMENTS[point][0] as CrashMoment);
  if (!CRASH_MOMENTS[point].includes(moment)) {
    throw new Error(`crash point ${point} has no moment ${moment}`);
  }
  const crash = new SimulatedCrash();
  const inFlight: Promise<void>[] = [];
  /** The last stored copy of each record this worker holds, to tell its writes apart. */
  const held = new Map<string, CertificateRecord>();
  /** Which record an order URL belongs to. */
  const orderOf = new Map<string, string>();
  let crashedOn: string | undefined;

  const armed = (id: string | undefined): id is string =>
    id !== undefined && !crash.dead && (plan.recordId === undefined || plan.recordId === id);
  const die = (id: string): never => {
    crashedOn = id;
    return crash.kill(`${point} (${moment}) on ${id}`);
  };
  /** The request is out; the process dies before it sees the answer. */
  const answerLost = async (id: string, call: Promise<unknown>): Promise<never> => {
    const done = call.then(
      () => undefined,
      () => undefined,
    );
    inFlight.push(done);
    await Promise.race([done, sleep(plan.delayMs ?? 0)]);
    return die(id);
  };
  const remember = (record: CertificateRecord) => {
    held.set(record.id, record);
    if (record.order) orderOf.set(record.order.url, record.id);
  };
  const recordWithNames = (names: readonly string[]) => {
    const key = namesKey(names);
    for (const record of held.values()) if (namesKey(record.domains) === key) return record.id;
    return undefined;
  };
  const recordWithName = (name: string) => {
    for (const record of held.values()) if (record.domains.includes(name)) return record.id;
    return undefined;
  };

  const records = crash.guard(
    intercept(base.records, {
      acquireLease: async (real, id, owner, now, durationMs) => {
        if (point === 'after-lease' && armed(id)) {
          const call = real.acquireLease(id, owner, now, durationMs);
          if (moment === 'in-flight') return answerLost(id, call);
          const record = await call;
          if (record) die(id);
          return record;
        }
        const record = await real.acquireLease(id, owner, now, durationMs);
        if (record) remember(record);
        return record;
      },
      put: async (real, record, expectedVersion) => {
        const before = held.get(record.id);
        const storesNewOrder =
          record.order !== undefined && record.order.url !== before?.order?.url;
        const recordsCertificate =
          record.current !== undefined && record.current.serial !== before?.current?.serial;
        if (record.order) orderOf.set(record.order.url, record.id);
        if (point === 'after-order' && storesNewOrder && armed(record.id)) {
          if (moment === 'acknowledged') {
            await real.put(record, expectedVersion);
            die(record.id);
          }
          if (moment === 'in-flight')
            return answerLost(record.id, real.put(record, expectedVersion));
        }
        if (point === 'before-record-update' && recordsCertificate && armed(record.id)) {
          if (moment === 'before') die(record.id);
          return answerLost(record.id, real.put(record, expectedVersion));
        }
        const stored = await real.put(record, expectedVersion);
        remember(stored);
        return stored;
      },
    }),
  );

  const secrets = crash.guard(
    intercept(base.secrets, {
      writeCertificate: async (real, id, bundle, token) => {
        if (point === 'after-secret-write' && armed(id)) {
          const call = real.writeCertificate(id, bundle, token);
          if (moment === 'in-flight') return answerLost(id, call);
          await call;
          die(id);
        }
        return real.writeCertificate(id, bundle, token);
      },
    }),
  );

  const cas = new Map<AcmeCa, AcmeCa>();
  const doomedCa = (ca: AcmeCa): AcmeCa =>
    crash.guard(
      intercept(ca, {
        placeOrder: async (real, request) => {
          const id = recordWithNames(request.domains);
          if (point === 'after-order' && armed(id)) {
            if (moment === 'before-order') die(id);
            if (moment === 'order-in-flight') return answerLost(id, real.placeOrder(request));
            if (moment === 'order-placed') {
              await real.placeOrder(request);
              die(id);
            }
          }
          return real.placeOrder(request);
        },
        answerChallenges: async (real, challenges) => {
          const id = challenges[0] ? recordWithName(challenges[0].identifier) : undefined;
          if (point === 'after-challenge' && armed(id)) {
            const call = real.answerChallenges(challenges);
            if (moment === 'in-flight') return answerLost(id, call);
            await call;
            die(id);
          }
          return real.answerChallenges(challenges);
        },
        finalize: async (real, url, csr) => {
          const id = orderOf.get(url);
          if (point === 'after-finalize' && armed(id)) {
            const call = real.finalize(url, csr);
            if (moment === 'in-flight') return answerLost(id, call);
            await call;
            die(id);
          }
          return real.finalize(url, csr);
        },
      }),
    );

  const deps: IssuanceDeps = {
    ...base,
    records,
    secrets,
    dns: crash.guard(base.dns),
    issuers: (name) => {
      const ca = base.issuers(name);
      if (!ca) return undefined;
      let wrapped = cas.get(ca);
      if (!wrapped) {
        wrapped = doomedCa(ca);
        cas.set(ca, wrapped);
      }
      return wrapped;
    },
  };
  return {
    deps,
    get crashed() {
      return crash.dead;
    },
    get crashedOn() {
      return crashedOn;
    },
    async settled() {
      await Promise.all(inFlight);
    },
  };
}
