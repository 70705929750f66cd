import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandOutput,
  Route53Client,
  waitUntilResourceRecordSetsChanged,
} from '@aws-sdk/client-route-53';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { CertloopError } from '../../core/errors.js';
import type { Dns01Solver, TxtRecord } from '../../ports/dns01-solver.js';
import { DNS_SOURCE, translateRoute53Error } from './route53-errors.js';
import {
  type CurrentSet,
  chunkChanges,
  cleanupChange,
  decodeTxt,
  normalizeName,
  presentChange,
  TXT_TTL_SECONDS,
} from './route53-txt-records.js';
import {
  configError,
  planBatches,
  type Route53Zone,
  toZones,
  type Zone,
  type ZoneBatch,
} from './route53-zones.js';

export interface Route53Dns01SolverOptions {
  zones: Route53Zone[];
  /** The client for the zones without a role. Default: `new Route53Client({})`. */
  client?: Route53Client;
  /**
   * The client for the zones with a role, called once per role. Default: a Route53Client
   * whose credentials come from `fromTemporaryCredentials` (session `certloop-dns01`).
   */
  clientForRole?: (roleArn: string) => Route53Client;
  /** Bound of `waitForPropagation`. Default 120 s. */
  propagationTimeoutMs?: number;
  /** Delay between two GetChange polls of one change. Default 5 s. */
  pollIntervalMs?: number;
}

const DEFAULT_PROPAGATION_TIMEOUT_MS = 120_000;
const DEFAULT_POLL_INTERVAL_MS = 5_000;
/** ListResourceRecordSets calls in flight at once (Route 53 allows 5 requests/s per account). */
const READ_CONCURRENCY = 4;

/** One ChangeResourceRecordSets call this instance made, to wait on with GetChange. */
interface SubmittedChange {
  zone: Zone;
  changeId: string;
  names: string[];
}

/**
 * Dns01Solver on Amazon Route 53.
 *
 * Each record goes to the configured hosted zone whose domain is the longest suffix, on
 * label boundaries, of its name without `_acme-challenge.`; a name under no configured
 * zone is a `permanent` error, raised before anything is written. Only `_acme-challenge`
 * TXT records are ever written (the IAM policy allows nothing else).
 *
 * Merging with values already published: UPSERT replaces a whole record set and DELETE
 * must name it exactly, so before every `present` and `cleanup` the solver reads the
 * current TXT set of each name of the batch (ListResourceRecordSets, StartRecordName +
 * StartRecordType TXT, MaxItems 1) and writes the merge: `present` UPSERTs current values
 * plus the new ones; `cleanup` UPSERTs the values that stay, or DELETEs the set exactly as
 * read when none stay. The solver deliberately keeps no in-instance copy of published
 * sets: another worker, another deployment or a person may change the same name between
 * two calls of this instance, and a remembered set would then overwrite their values.
 * The cost is one read per distinct name per call. Read and write are not atomic: a
 * writer that changes the same name between our read and our write can lose a value to
 * our UPSERT (caught later as a failed validation, which is transient). One instance runs
 * its own `present`/`cleanup` calls one at a time, so it never races itself.
 *
 * Per zone and call there is one ChangeResourceRecordSets (split only beyond Route 53's
 * per-request limits), with one change per TXT name carrying all its values. The change
 * ids are remembered per (name, value); `waitForPropagation` waits for each distinct
 * change with the SDK's `waitUntilResourceRecordSetsChanged`, all in parallel, so a batch
 * waits once whatever its number of names.
 */
export class Route53Dns01Solver implements Dns01Solver {
  readonly #zones: Zone[];
  readonly #defaultClient: Route53Client | undefined;
  readonly #clientForRole: (roleArn: string) => Route53Client;
  readonly #propagationTimeoutMs: number;
  readonly #pollIntervalMs: number;
  #client: Route53Client | undefined;
  readonly #roleClients = new Map<string, Route53Client>();
  /** The latest change that published each value: key `name\nvalue`. */
  readonly #submitted = new Map<string, SubmittedChange>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: Route53Dns01SolverOptions) {
    this.#zones = toZones(options.zones);
    this.#defaultClient = options.client;
    this.#clientForRole = options.clientForRole ?? defaultClientForRole;
    this.#propagationTimeoutMs = options.propagationTimeoutMs ?? DEFAULT_PROPAGATION_TIMEOUT_MS;
    const poll = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    if (!(this.#propagationTimeoutMs > 0) || !(poll > 0)) {
      throw configError('propagationTimeoutMs and pollIntervalMs must be positive');
    }
    // The SDK waiter wants its delay below its total wait time.
    this.#pollIntervalMs = Math.min(poll, this.#propagationTimeoutMs / 2);
  }

  present(records: TxtRecord[]): Promise<void> {
    return this.#serialized(async () => {
      const batches = planBatches(this.#zones, records);
      const current = await this.#readCurrent(batches);
      await settleAll(
        batches.map(async (batch) => {
          const changes = [...batch.names].map(([name, values]) =>
            presentChange(name, values, current.get(batch.zone)?.get(name)),
          );
          for (const submitted of await this.#submit(batch.zone, changes, 'present')) {
            for (const name of submitted.names) {
              for (const value of batch.names.get(name) ?? []) {
                this.#submitted.set(valueKey(name, value), submitted);
              }
            }
          }
        }),
      );
    });
  }

  async waitForPropagation(records: TxtRecord[]): Promise<void> {
    const batches = planBatches(this.#zones, records);
    const changes = new Set<SubmittedChange>();
    const unknown: string[] = [];
    for (const { names } of batches) {
      for (const [name, values] of names) {
        let missing = 0;
        for (const value of values) {
          const submitted = this.#submitted.get(valueKey(name, value));
          if (submitted) changes.add(submitted);
          else missing += 1;
        }
        if (missing > 0) unknown.push(`${name} (${missing} of ${values.size} values)`);
      }
    }
    if (unknown.length > 0) {
      throw new CertloopError(
        'transient',
        `TXT values not presented through this Route 53 solver, so there is no change to wait ` +
          `for: ${unknown.join(', ')}`,
        { source: DNS_SOURCE },
      );
    }
    if (changes.size === 0) return;

    // One waiter per change, all in parallel; the first failure stops the others.
    const stop = new AbortController();
    await settleAll(
      [...changes].map(async (change) => {
        try {
          await this.#waitForChange(change, stop.signal);
        } catch (error) {
          stop.abort();
          throw error;
        }
      }),
      () => stop.signal.aborted,
    );
  }

  cleanup(records: TxtRecord[]): Promise<void> {
    return this.#serialized(async () => {
      const batches = planBatches(this.#zones, records);
      const current = await this.#readCurrent(batches);
      await settleAll(
        batches.map(async (batch) => {
          const changes: Change[] = [];
          for (const [name, values] of batch.names) {
            const change = cleanupChange(name, values, current.get(batch.zone)?.get(name));
            if (change) changes.push(change);
          }
          await this.#submit(batch.zone, changes, 'cleanup');
          for (const [name, values] of batch.names) {
            for (const value of values) this.#submitted.delete(valueKey(name, value));
          }
        }),
      );
    });
  }

  #clientFor(zone: Zone): Route53Client {
    if (zone.roleArn === undefined) {
      this.#client ??= this.#defaultClient ?? new Route53Client({});
      return this.#client;
    }
    let client = this.#roleClients.get(zone.roleArn);
    if (!client) {
      client = this.#clientForRole(zone.roleArn);
      this.#roleClients.set(zone.roleArn, client);
    }
    return client;
  }

  /** The current TXT set of every name of the batches, a few reads at a time. */
  async #readCurrent(
    batches: ZoneBatch[],
  ): Promise<Map<Zone, Map<string, CurrentSet | undefined>>> {
    const result = new Map<Zone, Map<string, CurrentSet | undefined>>();
    const reads: Array<{ zone: Zone; name: string }> = [];
    for (const { zone, names } of batches) {
      result.set(zone, new Map());
      for (const name of names.keys()) reads.push({ zone, name });
    }
    let next = 0;
    const worker = async () => {
      while (next < reads.length) {
        const read = reads[next++];
        if (!read) break;
        result.get(read.zone)?.set(read.name, await this.#readSet(read.zone, read.name));
      }
    };
    await settleAll(Array.from({ length: Math.min(READ_CONCURRENCY, reads.length) }, worker));
    return result;
  }

  async #readSet(zone: Zone, name: string): Promise<CurrentSet | undefined> {
    let output: ListResourceRecordSetsCommandOutput;
    try {
      output = await this.#clientFor(zone).send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zone.hostedZoneId,
          StartRecordName: name,
          StartRecordType: 'TXT',
          MaxItems: 1,
        }),
      );
    } catch (error) {
      throw this.#translate(error, zone, 'ListResourceRecordSets', [name]);
    }
    // The listing starts at (name, TXT): its first set is ours only if name and type match.
    const set = output.ResourceRecordSets?.[0];
    if (set?.Type !== 'TXT' || normalizeName(set.Name ?? '') !== name) return undefined;
    const raw = (set.ResourceRecords ?? []).flatMap((record) =>
      record.Value === undefined ? [] : [record.Value],
    );
    if (raw.length === 0) return undefined;
    return { ttl: set.TTL ?? TXT_TTL_SECONDS, raw, values: raw.map(decodeTxt) };
  }

  /** Sends the changes of one zone: one call, or a few when Route 53's request limits require. */
  async #submit(zone: Zone, changes: Change[], purpose: string): Promise<SubmittedChange[]> {
    const submitted: SubmittedChange[] = [];
    for (const chunk of chunkChanges(changes)) {
      const names = chunk.map((change) => change.ResourceRecordSet?.Name ?? '');
      let changeId: string | undefined;
      try {
        const output = await this.#clientFor(zone).send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: zone.hostedZoneId,
            ChangeBatch: { Comment: `certloop dns-01 ${purpose}`, Changes: chunk },
          }),
        );
        changeId = output.ChangeInfo?.Id;
      } catch (error) {
        throw this.#translate(error, zone, 'ChangeResourceRecordSets', names);
      }
      if (!changeId) {
        throw new CertloopError(
          'transient',
          `Route 53 ChangeResourceRecordSets on hosted zone ${zone.hostedZoneId} (${zone.domain}) ` +
            `returned no change id for ${names.join(', ')}`,
          { source: DNS_SOURCE },
        );
      }
      submitted.push({ zone, changeId, names });
    }
    return submitted;
  }

  async #waitForChange(change: SubmittedChange, abortSignal: AbortSignal): Promise<void> {
    const client = this.#clientFor(change.zone);
    const delaySeconds = this.#pollIntervalMs / 1_000;
    try {
      await waitUntilResourceRecordSetsChanged(
        {
          client,
          maxWaitTime: this.#propagationTimeoutMs / 1_000,
          minDelay: delaySeconds,
          maxDelay: delaySeconds,
          abortSignal,
        },
        { Id: change.changeId },
      );
      return;
    } catch (error) {
      if (abortSignal.aborted) throw error;
      if ((error as { name?: unknown }).name !== 'TimeoutError') {
        throw this.#translate(error, change.zone, 'GetChange', change.names);
      }
    }
    // The waiter retries through every GetChange error until its time is up, and its
    // timeout does not say why: ask once more, so a denied or throttled GetChange is
    // reported as such rather than as a slow propagation.
    let status: string | undefined;
    try {
      const output = await client.send(new GetChangeCommand({ Id: change.changeId }));
      status = output.ChangeInfo?.Status;
    } catch (error) {
      throw this.#translate(error, change.zone, 'GetChange', change.names);
    }
    if (status === 'INSYNC') return;
    throw new CertloopError(
      'transient',
      `Route 53 change ${change.changeId} on hosted zone ${change.zone.hostedZoneId} ` +
        `(${change.zone.domain}) is still ${status ?? 'not INSYNC'} after ` +
        `${this.#propagationTimeoutMs} ms: ${change.names.join(', ')}`,
      { source: DNS_SOURCE },
    );
  }

  #translate(
    error: unknown,
    zone: Zone,
    operation: string,
    names: readonly string[],
  ): CertloopError {
    return translateRoute53Error(error, {
      operation,
      hostedZoneId: zone.hostedZoneId,
      domain: zone.domain,
      roleArn: zone.roleArn,
      names,
    });
  }

  #serialized<T>(action: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(action, action);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function defaultClientForRole(roleArn: string): Route53Client {
  return new Route53Client({
    credentials: fromTemporaryCredentials({
      params: { RoleArn: roleArn, RoleSessionName: 'certloop-dns01' },
    }),
  });
}

function valueKey(name: string, value: string): string {
  return `${name}\n${value}`;
}

/**
 * Awaits every task, even after one failed (so that nothing is still writing when the
 * caller moves on), then throws the first failure. `ignore` tells failures that are only
 * the consequence of another (an aborted waiter) from the real one.
 */
async function settleAll(tasks: Promise<unknown>[], ignore?: () => boolean): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failures = results.flatMap((result) =>
    result.status === 'rejected' ? [result.reason] : [],
  );
  const real = failures.filter((reason) => !(ignore?.() && isAbort(reason)));
  const first = real[0] ?? failures[0];
  if (first !== undefined) throw first;
}

function isAbort(reason: unknown): boolean {
  return (reason as { name?: unknown } | null)?.name === 'AbortError';
}
