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

/** One Route 53 hosted zone the solver may write `_acme-challenge` TXT records into. */
export interface Route53Zone {
  /** `Z0123456789ABC` or `/hostedzone/Z0123456789ABC`. */
  hostedZoneId: string;
  /** The zone's domain, `example.com` (a trailing dot is accepted). */
  domain: string;
  /** A role to assume for this zone (a zone in another account); absent: `client`. */
  roleArn?: string;
}

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

const CHALLENGE_PREFIX = '_acme-challenge.';
const TXT_TTL_SECONDS = 60;
const DEFAULT_PROPAGATION_TIMEOUT_MS = 120_000;
const DEFAULT_POLL_INTERVAL_MS = 5_000;
/** ListResourceRecordSets calls in flight at once (Route 53 allows 5 requests/s per account). */
const READ_CONCURRENCY = 4;
/** ChangeResourceRecordSets limits: ResourceRecord elements and Value characters, UPSERT counting double. */
const MAX_BATCH_RECORDS = 1_000;
const MAX_BATCH_CHARACTERS = 32_000;
/** Longest character-string in a TXT record. */
const MAX_TXT_STRING = 255;

interface Zone {
  hostedZoneId: string;
  domain: string;
  roleArn: string | undefined;
}

/** The TXT values of one batch in one zone, by normalized record name. */
interface ZoneBatch {
  zone: Zone;
  names: Map<string, Set<string>>;
}

/** The TXT record set Route 53 holds for a name right now. */
interface CurrentSet {
  ttl: number;
  /** `Value`s exactly as Route 53 returned them (quoted), in its order. */
  raw: string[];
  /** The same values decoded: `"abc"` is `abc`. */
  values: string[];
}

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
    this.#zones = options.zones.map(toZone);
    if (this.#zones.length === 0) throw configError('no Route 53 hosted zone configured');
    const seen = new Map<string, string>();
    for (const zone of this.#zones) {
      const other = seen.get(zone.domain);
      if (other !== undefined) {
        throw configError(
          `two hosted zones configured for ${zone.domain}: ${other} and ${zone.hostedZoneId}`,
        );
      }
      seen.set(zone.domain, zone.hostedZoneId);
    }
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
      const batches = this.#plan(records);
      const current = await this.#readCurrent(batches);
      await settleAll(
        batches.map(async (batch) => {
          const changes: Change[] = [];
          for (const [name, values] of batch.names) {
            const existing = current.get(batch.zone)?.get(name);
            const raw = [...(existing?.raw ?? [])];
            const published = new Set(existing?.values ?? []);
            for (const value of values) {
              if (published.has(value)) continue;
              published.add(value);
              raw.push(encodeTxt(value));
            }
            changes.push({
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: name,
                Type: 'TXT',
                TTL: TXT_TTL_SECONDS,
                ResourceRecords: raw.map((Value) => ({ Value })),
              },
            });
          }
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
    const batches = this.#plan(records);
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
      const batches = this.#plan(records);
      const current = await this.#readCurrent(batches);
      await settleAll(
        batches.map(async (batch) => {
          const changes: Change[] = [];
          for (const [name, values] of batch.names) {
            const existing = current.get(batch.zone)?.get(name);
            if (!existing) continue;
            const remaining = existing.raw.filter(
              (_, index) => !values.has(existing.values[index] ?? ''),
            );
            if (remaining.length === existing.raw.length) continue; // none of them is there
            changes.push(
              remaining.length > 0
                ? {
                    Action: 'UPSERT',
                    ResourceRecordSet: {
                      Name: name,
                      Type: 'TXT',
                      TTL: existing.ttl,
                      ResourceRecords: remaining.map((Value) => ({ Value })),
                    },
                  }
                : {
                    // DELETE must match the current set exactly: TTL and every value as read.
                    Action: 'DELETE',
                    ResourceRecordSet: {
                      Name: name,
                      Type: 'TXT',
                      TTL: existing.ttl,
                      ResourceRecords: existing.raw.map((Value) => ({ Value })),
                    },
                  },
            );
          }
          await this.#submit(batch.zone, changes, 'cleanup');
          for (const [name, values] of batch.names) {
            for (const value of values) this.#submitted.delete(valueKey(name, value));
          }
        }),
      );
    });
  }

  /** Groups records by hosted zone and name; fails before any write on a name outside every zone. */
  #plan(records: readonly TxtRecord[]): ZoneBatch[] {
    const batches = new Map<Zone, ZoneBatch>();
    const outside: string[] = [];
    const notChallenges: string[] = [];
    for (const record of records) {
      const name = normalizeName(record.name);
      if (!name.startsWith(CHALLENGE_PREFIX)) {
        notChallenges.push(record.name);
        continue;
      }
      const zone = this.#zoneFor(name.slice(CHALLENGE_PREFIX.length));
      if (!zone) {
        outside.push(record.name);
        continue;
      }
      let batch = batches.get(zone);
      if (!batch) {
        batch = { zone, names: new Map() };
        batches.set(zone, batch);
      }
      let values = batch.names.get(name);
      if (!values) {
        values = new Set();
        batch.names.set(name, values);
      }
      values.add(record.value);
    }
    if (notChallenges.length > 0) {
      throw new CertloopError(
        'permanent',
        `only ${CHALLENGE_PREFIX}* TXT records can be written to Route 53, not ` +
          `${unique(notChallenges).join(', ')}`,
        { source: DNS_SOURCE },
      );
    }
    if (outside.length > 0) {
      const configured = this.#zones.map((zone) => `${zone.domain} (${zone.hostedZoneId})`);
      throw new CertloopError(
        'permanent',
        `no configured Route 53 hosted zone contains ${unique(outside).join(', ')}; configured ` +
          `zones: ${configured.join(', ')}. Add the hosted zone to the configuration or stop ` +
          `requesting the name.`,
        { source: DNS_SOURCE },
      );
    }
    return [...batches.values()];
  }

  /** The zone whose domain is the longest label-boundary suffix of `domain`. */
  #zoneFor(domain: string): Zone | undefined {
    let best: Zone | undefined;
    for (const zone of this.#zones) {
      const inside = domain === zone.domain || domain.endsWith(`.${zone.domain}`);
      if (inside && (!best || zone.domain.length > best.domain.length)) best = zone;
    }
    return best;
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

function toZone(zone: Route53Zone): Zone {
  const hostedZoneId = zone.hostedZoneId.trim().replace(/^\/?hostedzone\//, '');
  const domain = normalizeName(zone.domain);
  if (!hostedZoneId || !domain) {
    throw configError(`invalid hosted zone ${JSON.stringify(zone)}: id and domain are required`);
  }
  return { hostedZoneId, domain, roleArn: zone.roleArn };
}

function configError(message: string): CertloopError {
  return new CertloopError('permanent', `Route 53 DNS-01 configuration: ${message}`, {
    source: DNS_SOURCE,
  });
}

/**
 * DNS names compare case-insensitively and a trailing dot is the same name. Route 53
 * returns names with a trailing dot and escapes some characters as `\ddd` (octal), `*` as
 * `\052`: decode those so its names compare equal to ours.
 */
export function normalizeName(name: string): string {
  return name
    .replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
    .toLowerCase()
    .replace(/\.$/, '');
}

/** A TXT value as Route 53 wants it: quoted, `"` and `\` escaped, split into 255-character strings. */
export function encodeTxt(value: string): string {
  const strings: string[] = [];
  for (let start = 0; start < value.length || strings.length === 0; start += MAX_TXT_STRING) {
    const piece = value
      .slice(start, start + MAX_TXT_STRING)
      .replace(/["\\]/g, (char) => `\\${char}`);
    strings.push(`"${piece}"`);
  }
  return strings.join(' ');
}

/** The value of a Route 53 TXT `Value`: its quoted strings joined, escapes decoded. */
export function decodeTxt(raw: string): string {
  let value = '';
  let quoted = false;
  for (let index = 0; index < raw.length; index++) {
    const char = raw.charAt(index);
    if (char === '"') {
      quoted = !quoted;
    } else if (char === '\\') {
      const octal = /^[0-7]{3}/.exec(raw.slice(index + 1, index + 4));
      if (octal) {
        value += String.fromCharCode(Number.parseInt(octal[0], 8));
        index += 3;
      } else {
        value += raw.charAt(index + 1);
        index += 1;
      }
    } else if (quoted || !/\s/.test(char)) {
      value += char; // unquoted text is taken as is, whitespace between strings dropped
    }
  }
  return value;
}

/** Splits one zone's changes so that no request exceeds Route 53's size limits. */
function chunkChanges(changes: Change[]): Change[][] {
  const chunks: Change[][] = [];
  let chunk: Change[] = [];
  let records = 0;
  let characters = 0;
  for (const change of changes) {
    const weight = change.Action === 'UPSERT' ? 2 : 1;
    const values = change.ResourceRecordSet?.ResourceRecords ?? [];
    const changeRecords = weight * values.length;
    const changeCharacters =
      weight * values.reduce((sum, record) => sum + (record.Value?.length ?? 0), 0);
    if (
      chunk.length > 0 &&
      (records + changeRecords > MAX_BATCH_RECORDS ||
        characters + changeCharacters > MAX_BATCH_CHARACTERS)
    ) {
      chunks.push(chunk);
      chunk = [];
      records = 0;
      characters = 0;
    }
    chunk.push(change);
    records += changeRecords;
    characters += changeCharacters;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

function valueKey(name: string, value: string): string {
  return `${name}\n${value}`;
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
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
