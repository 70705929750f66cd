import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwsKid, newOrderFields } from './acme-front/jws.js';
import { FrontLedger, type FrontOrderStatus, type WindowMove } from './acme-front/ledger.js';
import {
  type ManagementOperations,
  parseWindowMove,
  startManagementServer,
} from './acme-front/management.js';
import { type RenewalInfoFaultSetting, RenewalInfoResource } from './acme-front/renewal-info.js';
import {
  createUpstream,
  type ForwardedAnswer,
  headerOf,
  readBody,
  sendAnswer as send,
} from './acme-front/upstream.js';
import { makeListenerCertificate } from './listener-certificate.js';

export type { FrontCertificate, FrontOrder, WindowMove } from './acme-front/ledger.js';
export type { RenewalInfoFault, RenewalInfoFaultSetting } from './acme-front/renewal-info.js';

/**
 * The ACME front: an HTTPS server on 127.0.0.1 in front of a running pebble that adds
 * what pebble 2.4 lacks, for local mode's embedded CA and for tests:
 * - ACME Renewal Information (RFC 9773): `renewalInfo` in the directory and
 *   `GET <renewalInfo>/<certID>` with a suggested window per certificate (see
 *   ./acme-front/ledger.ts for the default window, ./acme-front/renewal-info.ts for the
 *   answers and the faults);
 * - `replaces` on newOrder: refused with `malformed` when it names a certificate the front
 *   has not seen issued or one of another account, with `alreadyReplaced` (409) when an
 *   earlier order with the same `replaces` became valid;
 * - profiles: `meta.profiles` in the directory and `invalidProfile` for a name not
 *   offered. pebble issues every profile with its one configured lifetime; the front
 *   records the profile per order.
 * Everything else is forwarded to pebble with URLs rewritten (./acme-front/upstream.ts),
 * accepted newOrders unchanged (pebble ignores `profile` and `replaces`). The front
 * learns certificates from their downloads. Request bodies are read for the fields
 * above only and never stored or printed.
 * A management API (plain HTTP, loopback; ./acme-front/management.ts) moves windows,
 * sets renewalInfo faults and lists certificates and orders.
 */

/** Let's Encrypt's profiles (2026). */
export const DEFAULT_PROFILES: Readonly<Record<string, string>> = {
  classic: 'The default: 90-day certificates (64 days from 2027-02-10, 45 days from 2028-02-16)',
  tlsserver: '45-day certificates for TLS servers only',
  shortlived: '160-hour certificates for TLS servers only',
};

export const RENEWAL_INFO_PATH = '/renewal-info';

export interface AcmeFrontOptions {
  /** The running ACME server to front (pebble): its directory and listener certificate. */
  upstream: { directoryUrl: string; listenerCaPem: string };
  /** Profiles for `meta.profiles` (name -> description). Default DEFAULT_PROFILES; null:
   * advertise none and forward any `profile` unchanged. */
  profiles?: Record<string, string> | null;
  /** ARI on (default). false: no renewalInfo in the directory, every renewalInfo URL 404. */
  ari?: boolean;
  /** Retry-After of renewalInfo answers, seconds. Default 21600 (6 h). */
  retryAfterSeconds?: number;
  /** explanationURL of renewalInfo answers; none when absent. */
  explanationUrl?: string;
  /** Time source for windows and logs. Default Date.now. */
  clock?: () => number;
}

export interface AcmeFront extends ManagementOperations {
  /** `https://127.0.0.1:<port>/dir`. */
  directoryUrl: string;
  /** The front's self-signed listener certificate: trust it to talk to the front. */
  listenerCaPem: string;
  /** `http://127.0.0.1:<port>`, the management API. */
  managementUrl: string;
  /** Closes both listeners and every held request; holds no timers. Idempotent. */
  stop(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';

async function listenerCertificate(): Promise<{ certPem: string; keyPem: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'certloop-acme-front-'));
  try {
    const { certPath, keyPath } = await makeListenerCertificate(dir, "the ACME front's");
    return { certPem: await readFile(certPath, 'utf8'), keyPem: await readFile(keyPath, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function problem(status: number, type: string, detail: string, nonce?: string): ForwardedAnswer {
  return {
    status,
    headers: [
      ['Content-Type', 'application/problem+json'],
      ...(nonce ? ([['Replay-Nonce', nonce]] as Array<[string, string]>) : []),
    ],
    body: Buffer.from(JSON.stringify({ type, detail, status }), 'utf8'),
  };
}

function jsonOf(answer: ForwardedAnswer): Record<string, unknown> | undefined {
  if (!/json/i.test(headerOf(answer, 'content-type') ?? '')) return undefined;
  try {
    const value: unknown = JSON.parse(answer.body.toString('utf8'));
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Learning from an answer never gets in the way of forwarding it. */
function learnQuietly(learn: () => void): void {
  try {
    learn();
  } catch {
    // An answer the ledger cannot read (e.g. a certificate without an Authority Key
    // Identifier, which has no ARI identifier): it is forwarded, not learned.
  }
}

export async function startAcmeFront(options: AcmeFrontOptions): Promise<AcmeFront> {
  const profiles = options.profiles === undefined ? DEFAULT_PROFILES : options.profiles;
  const offered = profiles === null ? null : Object.keys(profiles).sort();
  const ari = options.ari ?? true;
  const retryAfterSeconds = options.retryAfterSeconds ?? 21_600;
  if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
    throw new RangeError('retryAfterSeconds must be a whole number of seconds, 0 or more');
  }
  const clock = options.clock ?? Date.now;
  const upstream = createUpstream(options.upstream.directoryUrl, options.upstream.listenerCaPem);
  const ledger = new FrontLedger(clock);
  const renewalInfo = new RenewalInfoResource({
    ledger,
    clock,
    retryAfterSeconds,
    ...(options.explanationUrl === undefined ? {} : { explanationUrl: options.explanationUrl }),
  });
  const upstreamDirectory = await upstream.fetchDirectory();
  const newOrderPath =
    typeof upstreamDirectory.newOrder === 'string'
      ? new URL(upstreamDirectory.newOrder).pathname
      : undefined;
  const directoryPath = upstream.directory.pathname;
  const { certPem, keyPem } = await listenerCertificate();
  const held = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let origin = '';

  const directoryAnswer = (answer: ForwardedAnswer): ForwardedAnswer => {
    const directory = answer.status === 200 ? jsonOf(answer) : undefined;
    if (!directory) return answer;
    if (ari) directory.renewalInfo = `${origin}${RENEWAL_INFO_PATH}`;
    if (profiles !== null) {
      const meta = (directory.meta ?? {}) as Record<string, unknown>;
      directory.meta = { ...meta, profiles: { ...profiles } };
    }
    return { ...answer, body: Buffer.from(JSON.stringify(directory, null, 2), 'utf8') };
  };

  const newOrder = async (req: IncomingMessage, body: Buffer): Promise<ForwardedAnswer> => {
    const fields = newOrderFields(body);
    if (!fields) return upstream.forward(req, body); // pebble answers the malformed request
    const account = jwsKid(body);
    const refusal = ledger.check(fields, account, offered);
    if (refusal) {
      ledger.recordOrder(fields, account, {
        status: 'refused',
        refusal: { ...refusal, by: 'front' },
      });
      return problem(refusal.status, refusal.type, refusal.detail, await upstream.freshNonce());
    }
    const answer = await upstream.forward(req, body);
    const order = jsonOf(answer);
    const url = headerOf(answer, 'location');
    if (answer.status === 201 && order && url) {
      ledger.recordOrder(fields, account, {
        url,
        status: (typeof order.status === 'string' ? order.status : 'pending') as FrontOrderStatus,
      });
      learnQuietly(() => ledger.observeOrder(new URL(url).pathname, order));
    } else {
      ledger.recordOrder(fields, account, {
        status: 'refused',
        refusal: {
          status: answer.status,
          type: typeof order?.type === 'string' ? order.type : 'unknown',
          detail: typeof order?.detail === 'string' ? order.detail : '',
          by: 'upstream',
        },
      });
    }
    return answer;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (pathname === RENEWAL_INFO_PATH || pathname.startsWith(`${RENEWAL_INFO_PATH}/`)) {
      req.resume();
      const certId = decodeURIComponent(pathname.slice(RENEWAL_INFO_PATH.length + 1));
      if (!ari || method !== 'GET' || certId === '' || certId.includes('/')) {
        send(res, problem(404, 'about:blank', `no renewalInfo resource at ${pathname}`));
        return;
      }
      const answer = renewalInfo.answer(certId);
      if (answer === 'hold') {
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      send(res, answer);
      return;
    }
    const body = await readBody(req);
    if (method === 'GET' && pathname === directoryPath) {
      send(res, directoryAnswer(await upstream.forward(req, body)));
      return;
    }
    if (method === 'POST' && pathname === newOrderPath) {
      send(res, await newOrder(req, body));
      return;
    }
    const answer = await upstream.forward(req, body);
    if (method === 'POST' && answer.status === 200) {
      const type = headerOf(answer, 'content-type') ?? '';
      if (/^application\/pem-certificate-chain/i.test(type)) {
        learnQuietly(() =>
          ledger.observeCertificate(pathname, answer.body.toString('utf8'), jwsKid(body)),
        );
      } else {
        const order = jsonOf(answer);
        if (order && typeof order.finalize === 'string') {
          learnQuietly(() => ledger.observeOrder(pathname, order));
        }
      }
    }
    send(res, answer);
  };

  const server: Server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      send(res, problem(502, 'urn:ietf:params:acme:error:serverInternal', `ACME front: ${reason}`));
    });
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  origin = `https://${LOOPBACK}:${(server.address() as AddressInfo).port}`;
  upstream.setOrigin(origin);

  const operations = {
    certificates: () => ledger.certificates(),
    orders: () => ledger.orders(),
    moveWindows(request: { serials: string[]; window: WindowMove }) {
      const window = parseWindowMove(request.window);
      return ledger.moveWindows(request.serials, window);
    },
    setRenewalInfoFault(setting: RenewalInfoFaultSetting) {
      renewalInfo.setFault(setting);
      return renewalInfo.fault();
    },
  };
  let management: { url: string; server: HttpServer };
  try {
    management = await startManagementServer(operations);
  } catch (error) {
    server.close();
    upstream.destroy();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    directoryUrl: `${origin}${directoryPath}`,
    listenerCaPem: certPem,
    managementUrl: management.url,
    ...operations,
    stop() {
      stopping ??= (async () => {
        for (const res of held) res.destroy();
        held.clear();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const managementClosed = new Promise<void>((resolve) =>
          management.server.close(() => resolve()),
        );
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        management.server.closeAllConnections();
        await Promise.all([closed, managementClosed]);
        upstream.destroy();
      })();
      return stopping;
    },
  };
}
