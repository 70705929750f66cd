import { Resolver } from 'node:dns/promises';
import { CertloopError } from '../../core/errors.js';
import type { Dns01Solver, TxtRecord } from '../../ports/dns01-solver.js';

export interface ChalltestsrvDns01SolverOptions {
  /** challtestsrv management API, `http://127.0.0.1:<port>`. */
  managementUrl: string;
  /** challtestsrv DNS server, `127.0.0.1:<port>` (the one pebble validates against). */
  dnsServer: string;
  /** Bound of `waitForPropagation`. Default 10 s. */
  propagationTimeoutMs?: number;
}

/** DNS names compare case-insensitively; a trailing dot is the same name. */
function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function groupByName(records: TxtRecord[]): Map<string, Set<string>> {
  const byName = new Map<string, Set<string>>();
  for (const { name, value } of records) {
    const key = normalizeName(name);
    let values = byName.get(key);
    if (!values) {
      values = new Set();
      byName.set(key, values);
    }
    values.add(value);
  }
  return byName;
}

const POLL_INTERVAL_MS = 100;

/**
 * Dns01Solver on pebble-challtestsrv (local mode and tests).
 *
 * challtestsrv's management API can only append a TXT value (`/set-txt`, duplicates
 * included) or drop every value of a host (`/clear-txt`). To honour the port contract,
 * this solver reads what the DNS server currently serves for a name before changing it:
 * `present` appends only values not yet served, and `cleanup` clears the name and
 * re-publishes every served value that was not asked to go. Reading the served values
 * (rather than remembering what this instance wrote) keeps values of other solver
 * instances on the same server. One instance runs its changes one at a time; between
 * the clear and the re-publish of a cleanup, the remaining values are briefly absent
 * (acceptable for a local test server, unlike Route 53's atomic change batches).
 */
export class ChalltestsrvDns01Solver implements Dns01Solver {
  readonly #managementUrl: string;
  readonly #resolver: Resolver;
  readonly #propagationTimeoutMs: number;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ChalltestsrvDns01SolverOptions) {
    this.#managementUrl = options.managementUrl.replace(/\/$/, '');
    this.#propagationTimeoutMs = options.propagationTimeoutMs ?? 10_000;
    this.#resolver = new Resolver({ timeout: 1_000, tries: 2 });
    this.#resolver.setServers([options.dnsServer]);
  }

  present(records: TxtRecord[]): Promise<void> {
    return this.#serialized(async () => {
      for (const [name, values] of groupByName(records)) {
        const served = new Set(await this.#served(name));
        for (const value of values) {
          if (!served.has(value)) await this.#post('set-txt', { host: `${name}.`, value });
        }
      }
    });
  }

  async waitForPropagation(records: TxtRecord[]): Promise<void> {
    const wanted = groupByName(records);
    const deadline = Date.now() + this.#propagationTimeoutMs;
    let missing: string[] = [];
    for (;;) {
      missing = [];
      for (const [name, values] of wanted) {
        const served = new Set(await this.#served(name));
        const absent = [...values].filter((value) => !served.has(value)).length;
        if (absent > 0) missing.push(`${name} (${absent} of ${values.size} values)`);
      }
      if (missing.length === 0) return;
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
    throw new CertloopError(
      'transient',
      `TXT values not visible on ${this.#resolver.getServers().join(', ')} after ` +
        `${this.#propagationTimeoutMs} ms: ${missing.join(', ')}`,
      { source: 'dns' },
    );
  }

  cleanup(records: TxtRecord[]): Promise<void> {
    return this.#serialized(async () => {
      for (const [name, values] of groupByName(records)) {
        const served = await this.#served(name);
        if (!served.some((value) => values.has(value))) continue; // nothing of ours there
        const keep = [...new Set(served.filter((value) => !values.has(value)))];
        await this.#post('clear-txt', { host: `${name}.` });
        for (const value of keep) await this.#post('set-txt', { host: `${name}.`, value });
      }
    });
  }

  /** What the DNS server answers for TXT `name` right now (one string per record). */
  async #served(name: string): Promise<string[]> {
    try {
      const answers = await this.#resolver.resolveTxt(name);
      return answers.map((chunks) => chunks.join(''));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
      throw new CertloopError(
        'transient',
        `TXT query for ${name} on ${this.#resolver.getServers().join(', ')} failed: ${code ?? String(error)}`,
        { source: 'dns', cause: error },
      );
    }
  }

  async #post(
    path: 'set-txt' | 'clear-txt',
    body: { host: string; value?: string },
  ): Promise<void> {
    let response: Response;
    try {
      response = await fetch(`${this.#managementUrl}/${path}`, {
        method: 'POST',
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new CertloopError(
        'transient',
        `challtestsrv ${path} for ${body.host} failed: ${reason}`,
        {
          source: 'dns',
          cause: error,
        },
      );
    }
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).slice(0, 200);
      throw new CertloopError(
        'transient',
        `challtestsrv ${path} for ${body.host} answered HTTP ${response.status}${text ? `: ${text}` : ''}`,
        { source: 'dns' },
      );
    }
    await response.body?.cancel();
  }

  #serialized<T>(action: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(action, action);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
