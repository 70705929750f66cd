/**
 * A fault-injecting HTTPS reverse proxy in front of pebble's ACME listener, for the
 * reliability drills (test/drills/faulty-ca.test.ts).
 *
 * - Listens on 127.0.0.1 (a free port) with its own self-signed certificate (made with
 *   openssl, like pebble's listener certificate in src/local/pebble-server.ts); clients
 *   trust `caPem`. It forwards to pebble over TLS, trusting pebble's listener certificate.
 * - Every absolute URL of pebble's origin in a response (directory JSON, order, authz,
 *   challenge, finalize and certificate URLs in bodies, `Location` and `Link` headers) is
 *   rewritten to the proxy's origin, so every ACME request goes through the proxy.
 *   Signed POSTs keep the client's `Host` (pebble checks the JWS `url` against
 *   https://<Host><path>); unsigned GET/HEAD go with pebble's own `Host`, so the
 *   directory comes back with pebble's origin and must be rewritten.
 * - A programmable fault schedule: rules matched by method and ACME step (directory,
 *   newNonce, newAccount, account, newOrder, authz, challenge, finalize, orderPoll,
 *   certificate), optionally by the order's names, each for a number of requests; and
 *   random faults drawn from a seeded PRNG. Faults: 500/503 `serverInternal` problem
 *   (optionally with Retry-After), 429 `rateLimited` with Retry-After, 400 `badNonce`
 *   with a fresh Replay-Nonce from pebble, a timeout (held, never forwarded, until the
 *   client gives up), a lost response (forwarded, pebble acts, the answer is held until
 *   the client gives up) and a slow response (delay, then forward).
 * - Every request is logged (clock time, wall time, step, the order's names when known,
 *   fault, status) for assertions. Request bodies are never stored or printed: they are
 *   signed JWS, and a finalize carries a CSR.
 *
 * Which order a request belongs to is learned from pebble's answers: newOrder carries
 * the names (read from the JWS payload), its answer the order, authz and finalize URLs,
 * order answers the certificate URL, authz answers the challenge URLs.
 *
 * Random faults are decided per request by a PRNG seeded from (seed, method, step,
 * subject, how many such requests came before), so a record's own requests get the same
 * draws run after run; requests no order owns (directory, newNonce, account) depend on
 * arrival order, which concurrency can change a little between runs.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createUpstream,
  type ForwardedAnswer,
  readBody,
  sendAnswer,
} from '../../src/local/acme-front/upstream.js';
import { seededRandom } from './manual-clock.js';
import { makeLocalhostCertificate } from './tls-peers.js';

const OPENSSL_INSTALL_COMMAND = 'sudo apt-get install -y openssl';
const LOOPBACK = '127.0.0.1';
const ACME_ERROR = 'urn:ietf:params:acme:error:';

export type AcmeStep =
  | 'directory'
  | 'newNonce'
  | 'newAccount'
  | 'account'
  | 'newOrder'
  | 'authz'
  | 'challenge'
  | 'finalize'
  | 'orderPoll'
  | 'certificate'
  | 'other';

export const ACME_STEPS: readonly AcmeStep[] = [
  'directory',
  'newNonce',
  'newAccount',
  'account',
  'newOrder',
  'authz',
  'challenge',
  'finalize',
  'orderPoll',
  'certificate',
];

export type Fault =
  /** A 500 or 503 `serverInternal` problem; not forwarded. */
  | { type: 'serverError'; status?: 500 | 503; retryAfterSeconds?: number }
  /** 429 `rateLimited` with `Retry-After` (delta seconds, or an HTTP date); not forwarded. */
  | { type: 'rateLimited'; retryAfterSeconds: number; httpDate?: boolean }
  /** 400 `badNonce` with a fresh Replay-Nonce from pebble; not forwarded. Signed POSTs only. */
  | { type: 'badNonce' }
  /** Held without an answer until the client gives up; never forwarded. */
  | { type: 'timeout' }
  /** Forwarded (pebble acts on it), then the answer is held until the client gives up. */
  | { type: 'lostResponse' }
  /** Forwarded after `delayMs`. */
  | { type: 'slow'; delayMs: number };

export type FaultType = Fault['type'];
export const FAULT_TYPES: readonly FaultType[] = [
  'serverError',
  'rateLimited',
  'badNonce',
  'timeout',
  'lostResponse',
  'slow',
];

/** What a rule or the random schedule gets to look at. */
export interface RequestInfo {
  method: string;
  path: string;
  step: AcmeStep;
  /** The order's names (sorted, joined by a space), when the request belongs to a known order. */
  subject?: string;
}

export interface FaultRule {
  step: AcmeStep | readonly AcmeStep[] | '*';
  /** Upper case; any method when absent. */
  method?: string;
  /** Only requests of the order for exactly these names (any order). */
  domains?: readonly string[];
  when?: (request: RequestInfo) => boolean;
  fault: Fault;
  /** How many matching requests get the fault. Default 1; Infinity for "until removed". */
  times?: number;
}

export interface RandomFaults {
  seed: number;
  /** Share of requests that get a fault. */
  probability: number;
  /** Candidate faults with weights; one is drawn among those that apply to the request. */
  faults: Array<{
    weight: number;
    make: (random: () => number) => Fault;
    steps?: readonly AcmeStep[];
  }>;
}

export interface ProxyLogEntry {
  seq: number;
  /** `clock()` when the request arrived (the manual clock in the drills). */
  at: number;
  /** Real time when the request arrived. */
  wallMs: number;
  method: string;
  path: string;
  step: AcmeStep;
  subject?: string;
  /** The fault injected, if any. */
  fault?: FaultType;
  /** Retry-After sent with the fault, in seconds. */
  retryAfterSeconds?: number;
  /** Status sent to the client; absent while held or when never answered. */
  status?: number;
  /** Status pebble answered (forwarded requests only). */
  upstreamStatus?: number;
  /** Real milliseconds until answered, or until the client gave up. */
  durationMs?: number;
  answered: boolean;
}

export interface FaultProxyOptions {
  /** pebble's directory URL (`https://127.0.0.1:<port>/dir`). */
  upstreamDirectoryUrl: string;
  /** pebble's listener certificate (PEM), trusted for the upstream connections. */
  upstreamCaPem: string;
  /** Time stamp of log entries; Date.now by default (the drills pass the manual clock). */
  clock?: () => number;
}

export interface FaultProxy {
  /** `https://127.0.0.1:<port>/dir`, the proxy's directory URL. */
  directoryUrl: string;
  origin: string;
  /** The proxy's self-signed listener certificate: trust it to talk to the proxy. */
  caPem: string;
  readonly log: readonly ProxyLogEntry[];
  /** How many absolute upstream URLs were rewritten in bodies and headers. */
  readonly rewrites: number;
  /** Adds a rule (checked in the order added, before the random faults). */
  inject(rule: FaultRule): void;
  /** Replaces the random schedule; `undefined` turns it off. */
  randomFaults(schedule: RandomFaults | undefined): void;
  /** Removes every rule and the random schedule. */
  clearFaults(): void;
  /** Rules still armed (`times` left), for assertions that a fault fired. */
  pendingRules(): number;
  /** Log entries from index `from` on. */
  since(from: number): ProxyLogEntry[];
  stop(): Promise<void>;
}

interface ArmedRule {
  rule: FaultRule;
  left: number;
}

async function makeListenerCertificate(): Promise<{ certPem: string; keyPem: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'certloop-fault-proxy-'));
  try {
    const { certPath, keyPath } = await makeLocalhostCertificate(dir, OPENSSL_INSTALL_COMMAND);
    return {
      certPem: await readFile(certPath, 'utf8'),
      keyPem: await readFile(keyPath, 'utf8'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** FNV-1a over a string: the seed of one request's own PRNG. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function problemBody(type: string, detail: string, status: number): string {
  return JSON.stringify({ type: `${ACME_ERROR}${type}`, detail, status });
}

function faultApplies(fault: Fault, request: RequestInfo): boolean {
  // Only signed requests carry a nonce: a badNonce answer to GET/HEAD means nothing.
  return fault.type !== 'badNonce' || request.method === 'POST';
}

function stepsOf(rule: FaultRule): '*' | readonly AcmeStep[] {
  if (rule.step === '*') return '*';
  return typeof rule.step === 'string' ? [rule.step as AcmeStep] : (rule.step as AcmeStep[]);
}

/** The names of a newOrder from its JWS payload (identifiers only; nothing else is read). */
function newOrderNames(body: Buffer): string[] | undefined {
  try {
    const jws = JSON.parse(body.toString('utf8')) as { payload?: string };
    if (typeof jws.payload !== 'string') return undefined;
    const payload = JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as {
      identifiers?: Array<{ value?: unknown }>;
    };
    const names = (payload.identifiers ?? []).flatMap((identifier) =>
      typeof identifier.value === 'string' ? [identifier.value] : [],
    );
    return names.sort();
  } catch {
    return undefined;
  }
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  // Forwarding and URL rewriting are shared with the ACME front (src/local/acme-front/).
  const upstream = createUpstream(options.upstreamDirectoryUrl, options.upstreamCaPem);
  const upstreamDirectory = upstream.directory;
  const clock = options.clock ?? Date.now;
  const { certPem, keyPem } = await makeListenerCertificate();

  const log: ProxyLogEntry[] = [];
  const rules: ArmedRule[] = [];
  let random: RandomFaults | undefined;
  const drawCounts = new Map<string, number>();
  /** Path of an order/authz/challenge/finalize/certificate URL -> the order's names. */
  const subjects = new Map<string, string>();
  const held = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  /** Paths of the directory's newNonce / newAccount / newOrder (learned from pebble). */
  const endpoints = new Map<string, AcmeStep>();
  let origin = '';

  const classify = (method: string, path: string): AcmeStep => {
    const pathname = path.split('?')[0] ?? path;
    if (pathname === upstreamDirectory.pathname) return 'directory';
    const known = endpoints.get(pathname);
    if (known) return known;
    // pebble's resource paths (2.x): /authZ/, /chalZ/, /finalize-order/, /my-order/,
    // /certZ/, /my-account/.
    const lower = pathname.toLowerCase();
    if (lower.startsWith('/authz')) return 'authz';
    if (lower.startsWith('/chal')) return 'challenge';
    if (lower.startsWith('/finalize')) return 'finalize';
    if (lower.startsWith('/my-order')) return 'orderPoll';
    if (lower.startsWith('/cert')) return 'certificate';
    if (lower.startsWith('/my-account')) return 'account';
    return method === 'HEAD' ? 'newNonce' : 'other';
  };

  /** Learns which order the URLs in an answer belong to. */
  const learn = (info: RequestInfo, answer: ForwardedAnswer): void => {
    if (answer.status >= 400) return;
    const subject = info.subject;
    if (subject === undefined) return;
    const remember = (url: unknown) => {
      if (typeof url !== 'string' || !url.startsWith(origin)) return;
      subjects.set(new URL(url).pathname, subject);
    };
    for (const [name, value] of answer.headers) {
      if (name.toLowerCase() === 'location') remember(value);
    }
    const type = answer.headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1];
    if (!type || !/json/i.test(type)) return;
    try {
      const data = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
      if (Array.isArray(data.authorizations)) data.authorizations.forEach(remember);
      remember(data.finalize);
      remember(data.certificate);
      if (Array.isArray(data.challenges)) {
        for (const challenge of data.challenges) remember((challenge as { url?: unknown }).url);
      }
    } catch {
      // Not JSON after all: nothing to learn.
    }
  };

  const pickFault = (info: RequestInfo): Fault | undefined => {
    for (const armed of rules) {
      if (armed.left <= 0) continue;
      const { rule } = armed;
      const steps = stepsOf(rule);
      if (steps !== '*' && !steps.includes(info.step)) continue;
      if (rule.method !== undefined && rule.method !== info.method) continue;
      if (rule.domains !== undefined && info.subject !== [...rule.domains].sort().join(' ')) {
        continue;
      }
      if (rule.when && !rule.when(info)) continue;
      if (!faultApplies(rule.fault, info)) continue;
      armed.left -= 1;
      return rule.fault;
    }
    if (!random) return undefined;
    const key = `${info.method} ${info.step} ${info.subject ?? ''}`;
    const n = drawCounts.get(key) ?? 0;
    drawCounts.set(key, n + 1);
    const draw = seededRandom(hash32(`${random.seed}|${key}|${n}`));
    if (draw() >= random.probability) return undefined;
    // A probe fault decides the candidate set (badNonce needs a signed request).
    const candidates = random.faults.filter(
      (candidate) =>
        (candidate.steps === undefined || candidate.steps.includes(info.step)) &&
        faultApplies(
          candidate.make(() => 0),
          info,
        ),
    );
    const total = candidates.reduce((sum, candidate) => sum + candidate.weight, 0);
    if (total <= 0) return undefined;
    let point = draw() * total;
    for (const candidate of candidates) {
      point -= candidate.weight;
      if (point < 0) return candidate.make(draw);
    }
    return candidates.at(-1)?.make(draw);
  };

  const send = (res: ServerResponse, entry: ProxyLogEntry, answer: ForwardedAnswer): void => {
    if (res.destroyed || res.writableEnded) return;
    sendAnswer(res, answer);
    entry.status = answer.status;
    entry.answered = true;
  };

  const problem = (
    status: number,
    type: string,
    detail: string,
    extra: Array<[string, string]> = [],
  ): ForwardedAnswer => ({
    status,
    headers: [['Content-Type', 'application/problem+json'], ...extra],
    body: Buffer.from(problemBody(type, detail, status), 'utf8'),
  });

  const hold = (res: ServerResponse, entry: ProxyLogEntry, started: number): void => {
    held.add(res);
    res.on('close', () => {
      held.delete(res);
      entry.durationMs = Date.now() - started;
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const path = req.url ?? '/';
    const body = await readBody(req, Number.POSITIVE_INFINITY);
    const step = classify(method, path);
    const pathname = path.split('?')[0] ?? path;
    let subject = subjects.get(pathname);
    if (step === 'newOrder') subject = newOrderNames(body)?.join(' ');
    const info: RequestInfo = { method, path, step, ...(subject ? { subject } : {}) };
    const entry: ProxyLogEntry = {
      seq: log.length,
      at: clock(),
      wallMs: started,
      method,
      path,
      step,
      ...(subject ? { subject } : {}),
      answered: false,
    };
    log.push(entry);
    const fault = pickFault(info);
    if (fault) entry.fault = fault.type;
    res.on('finish', () => {
      entry.durationMs = Date.now() - started;
    });

    switch (fault?.type) {
      case 'serverError': {
        const status = fault.status ?? 500;
        const extra: Array<[string, string]> = [];
        if (fault.retryAfterSeconds !== undefined) {
          extra.push(['Retry-After', String(fault.retryAfterSeconds)]);
          entry.retryAfterSeconds = fault.retryAfterSeconds;
        }
        send(res, entry, problem(status, 'serverInternal', 'injected server error', extra));
        return;
      }
      case 'rateLimited': {
        const seconds = fault.retryAfterSeconds;
        const value = fault.httpDate
          ? new Date(Date.now() + seconds * 1000).toUTCString()
          : String(seconds);
        entry.retryAfterSeconds = seconds;
        send(
          res,
          entry,
          problem(429, 'rateLimited', `injected rate limit, retry after ${seconds} s`, [
            ['Retry-After', value],
          ]),
        );
        return;
      }
      case 'badNonce': {
        const nonce = await upstream.freshNonce();
        send(
          res,
          entry,
          problem(
            400,
            'badNonce',
            'JWS has an invalid anti-replay nonce (injected)',
            nonce ? [['Replay-Nonce', nonce]] : [],
          ),
        );
        return;
      }
      case 'timeout':
        hold(res, entry, started);
        return;
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
        break;
      default:
        break;
    }

    let answer: ForwardedAnswer;
    try {
      answer = await upstream.forward(req, body);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      answer = problem(502, 'serverInternal', `fault proxy: pebble unreachable (${reason})`);
    }
    entry.upstreamStatus = answer.status;
    learn(info, answer);
    if (fault?.type === 'lostResponse') {
      hold(res, entry, started);
      return;
    }
    send(res, entry, answer);
  };

  const server: Server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end(`fault proxy error: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `https://${LOOPBACK}:${port}`;
  upstream.setOrigin(origin);

  // Learn the directory's endpoints (their paths classify requests).
  const directory = await upstream.fetchDirectory();
  for (const [name, step] of [
    ['newNonce', 'newNonce'],
    ['newAccount', 'newAccount'],
    ['newOrder', 'newOrder'],
  ] as const) {
    const url = directory[name];
    if (typeof url === 'string') endpoints.set(new URL(url).pathname, step);
  }

  let stopping: Promise<void> | undefined;
  return {
    directoryUrl: `${origin}${upstreamDirectory.pathname}`,
    origin,
    caPem: certPem,
    log,
    get rewrites() {
      return upstream.rewrites;
    },
    inject(rule) {
      rules.push({ rule, left: rule.times ?? 1 });
    },
    randomFaults(schedule) {
      random = schedule;
      drawCounts.clear();
    },
    clearFaults() {
      rules.length = 0;
      random = undefined;
    },
    pendingRules() {
      return rules.filter((armed) => armed.left > 0 && Number.isFinite(armed.left)).length;
    },
    since(from) {
      return log.slice(from);
    },
    stop() {
      stopping ??= (async () => {
        for (const res of held) res.destroy();
        held.clear();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections?.();
        await closed;
        upstream.destroy();
      })();
      return stopping;
    },
  };
}
