import type { Agent } from 'node:https';
import type { Logger } from '../../ports/logger.js';
import { acmeAxios, type Client } from './acme-client-modules.js';
import { AcmeProblemError, asProblem, parseRetryAfter, shortProblemType } from './acme-errors.js';

/** What the hook adds to one client's requests. */
export interface HttpHookOptions {
  /** This client's HTTPS agent (its trust store); the process default without one. */
  agent?: Agent;
  /** Timeout of one HTTP request. */
  timeoutMs: number;
  logger?: Logger;
}

/** The part of acme-client's (untyped) per-client HTTP layer this adapter hooks into. */
interface AcmeHttpResponse {
  status: number;
  headers: Record<string, unknown>;
  data: unknown;
}
interface AcmeHttpLayer {
  request(url: string, method: string, opts?: Record<string, unknown>): Promise<AcmeHttpResponse>;
  getNonce(): Promise<string>;
}

/**
 * Nonces from `Replay-Nonce` answers older than this are not reused: a CA may expire
 * them (an expired one costs a badNonce answer and a retry, not a failure).
 */
const NONCE_MAX_AGE_MS = 60_000;
/** At most this many spare nonces are kept per client (concurrent issuances share them). */
const NONCE_POOL_SIZE = 32;

/**
 * A request that may be sent again when no answer came back, because sending it twice
 * changes nothing at the CA: the directory (GET), a new nonce (HEAD) and a POST-as-GET
 * (a JWS with an empty payload: reading an order, authorization or certificate). A POST
 * that asks for something (an account, an order, a challenge, finalization) is not
 * repeated: its fate is read back on the next attempt.
 */
function safeToRepeat(method: string, opts: Record<string, unknown>): boolean {
  const verb = method.toLowerCase();
  if (verb === 'get' || verb === 'head') return true;
  const jws = opts.data as { payload?: unknown } | undefined;
  return verb === 'post' && jws?.payload === '';
}

/**
 * Longest Retry-After of a 5xx answer that acme-client may sleep on before retrying the
 * request itself (as it does after 5 s, 10 s, ... when there is none). A CA asking for
 * longer is treated like a rate limit: the error surfaces at once, with its Retry-After.
 */
const LIBRARY_RETRY_AFTER_LIMIT_MS = 10_000;

function retryAfterMsOf(headers: unknown): number | undefined {
  const get = (headers as { get?: (name: string) => unknown } | undefined)?.get;
  const value =
    typeof get === 'function'
      ? get.call(headers, 'retry-after')
      : (headers as Record<string, unknown> | undefined)?.['retry-after'];
  return parseRetryAfter(value, Date.now());
}

/** An answer that asked us to wait: a rate limit, or a Retry-After too long to sleep on. */
export function asksToWait(error: unknown): boolean {
  return (
    error instanceof AcmeProblemError &&
    (error.httpStatus === 429 ||
      shortProblemType(error.problem?.type) === 'rateLimited' ||
      (error.retryAfterMs ?? 0) > LIBRARY_RETRY_AFTER_LIMIT_MS)
  );
}

/**
 * Limits acme-client's axios interceptor, which retries a 429 or 5xx answer five times
 * and sleeps before each retry: for the Retry-After, or 5 s, 10 s ... 25 s (75 s in all)
 * when there is none. Response transforms run with the request config as `this`, the
 * same object the retry interceptor reads next, so setting `retryAttempt` past the
 * library's maximum ends its retries.
 * - HTTP 429, and a 5xx whose Retry-After exceeds LIBRARY_RETRY_AFTER_LIMIT_MS: no retry
 *   at all. The answer surfaces at once (`rate-limited`, or `transient` with its
 *   Retry-After) and the scheduler owns the waiting.
 * - A 5xx without Retry-After: one retry (after the library's 5 s) for a blip, then the
 *   answer surfaces as `transient` and the backoff table takes over, rather than a worker
 *   sleeping 75 s against a CA that is down.
 * - A 5xx with a short Retry-After keeps the library's five retries (at most 50 s).
 */
function limitLibraryRetries(
  this: { retryAttempt?: number },
  data: unknown,
  headers: unknown,
  status?: number,
) {
  const serverError = status !== undefined && status >= 500;
  const retryAfterMs = retryAfterMsOf(headers);
  if (
    status === 429 ||
    (serverError && (retryAfterMs ?? 0) > LIBRARY_RETRY_AFTER_LIMIT_MS) ||
    (serverError && retryAfterMs === undefined && (this.retryAttempt ?? 0) >= 1)
  ) {
    this.retryAttempt = Number.POSITIVE_INFINITY;
  }
  return data;
}

/**
 * acme-client sends every request through one shared axios instance and offers no
 * per-client HTTP options. Rather than change that shared instance for the whole
 * process (every other client would then trust pebble's listener), this wraps the
 * `request` method of this client's own HTTP layer: it adds this instance's HTTPS
 * agent, a timeout and the rule against sleeping on answers that ask to wait
 * (limitLibraryRetries), and turns error responses into AcmeProblemError,
 * which keeps the problem type, status and Retry-After that the library's own errors
 * drop. `badNonce` answers pass through so that the library can retry them.
 *
 * Two savings on top, both measured by drill R3 (test/drills/faulty-ca.test.ts):
 * - acme-client asks the CA for a fresh nonce (HEAD newNonce) before every signed
 *   request, although every answer to a POST carries a usable one (RFC 8555 7.2). The
 *   wrapper keeps those answers' nonces and `getNonce` hands them out first, which
 *   halves the requests of an issuance.
 * - A request that got no answer at all (reset, refused, timed out) is sent once more
 *   at once when that is harmless (safeToRepeat), instead of failing the whole attempt
 *   and waiting for the backoff table.
 */
export function hookClientHttp(client: Client, options: HttpHookOptions): void {
  const http = (client as unknown as { http?: AcmeHttpLayer }).http;
  if (!http || typeof http.request !== 'function' || typeof http.getNonce !== 'function') {
    // A programming error (an acme-client upgrade), not a CA failure.
    throw new Error('acme-client internals changed: no per-client HTTP layer to hook');
  }
  const original = http.request.bind(http);
  const fetchNonce = http.getNonce.bind(http);
  const defaults = acmeAxios.defaults.transformResponse;
  const transforms = [
    ...(Array.isArray(defaults) ? defaults : defaults ? [defaults] : []),
    limitLibraryRetries,
  ];
  const { agent, timeoutMs: timeout, logger } = options;
  const spareNonces: Array<{ nonce: string; at: number }> = [];

  http.getNonce = async () => {
    for (let spare = spareNonces.pop(); spare; spare = spareNonces.pop()) {
      if (Date.now() - spare.at < NONCE_MAX_AGE_MS) return spare.nonce;
    }
    return fetchNonce();
  };
  const send = async (url: string, method: string, opts: Record<string, unknown>) => {
    const started = Date.now();
    try {
      return await original(url, method, {
        ...opts,
        timeout,
        transformResponse: transforms,
        ...(agent === undefined ? {} : { httpsAgent: agent }),
      });
    } catch {
      // acme-client 5.4's retry interceptor ends every request that got no response
      // (refused, reset, timed out), after its own retries, by reading `.config` of an
      // undefined response: the TypeError says nothing. Say what happened instead.
      throw new Error(
        `no HTTP response from ${method.toUpperCase()} ${url} after ${Date.now() - started} ms ` +
          `(connection failed or timed out; request timeout ${timeout} ms)`,
      );
    }
  };
  http.request = async (url, method, opts = {}) => {
    let response: AcmeHttpResponse;
    try {
      response = await send(url, method, opts);
    } catch (error) {
      if (!safeToRepeat(method, opts)) throw error;
      logger?.debug('acme request got no answer; sending it once more', { url, method });
      // A POST-as-GET that did reach the CA used up its nonce: the CA answers badNonce
      // with a fresh one, and acme-client signs again with it.
      response = await send(url, method, opts);
    }
    const problem = response.status >= 400 ? asProblem(response.data) : undefined;
    const badNonce = shortProblemType(problem?.type) === 'badNonce';
    const nonce = response.headers['replay-nonce'];
    // HEAD answers are getNonce's own; badNonce answers' nonces acme-client uses itself.
    if (method.toLowerCase() === 'post' && !badNonce && typeof nonce === 'string') {
      spareNonces.push({ nonce, at: Date.now() });
      if (spareNonces.length > NONCE_POOL_SIZE) spareNonces.shift();
    }
    if (response.status >= 400) {
      if (badNonce) {
        logger?.debug('acme badNonce answer; acme-client retries with a fresh nonce', { url });
      } else {
        const retryAfterMs = parseRetryAfter(response.headers['retry-after'], Date.now());
        throw new AcmeProblemError(url, response.status, problem, retryAfterMs);
      }
    }
    return response;
  };
}
