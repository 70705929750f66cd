import { Agent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import { CertloopError } from '../../core/errors.js';
import type { AcmeCa, Dns01Challenge, OrderState, OrderStatus } from '../../ports/acme-ca.js';
import type { KeyFactory } from '../../ports/key-factory.js';
import type { Logger } from '../../ports/logger.js';
import type { SecretStore } from '../../ports/secret-store.js';
import { NodeKeyFactory } from '../crypto/node-key-factory.js';
import {
  AcmeClient,
  type Authorization,
  acmeAxios,
  type Client,
  type Order,
} from './acme-client-modules.js';
import {
  type AcmeOperationContext,
  AcmeProblemError,
  asProblem,
  combineErrors,
  kindForProblemType,
  parseRetryAfter,
  sanitize,
  shortProblemType,
  translateAcmeError,
  validationError,
} from './acme-errors.js';

export interface AcmeClientCaOptions {
  directoryUrl: string;
  /** Contact for the account (`mailto:`), if any. */
  contactEmail?: string;
  /** Where the account key lives (one per directory URL). */
  secrets: SecretStore;
  /** Generates the account key (EC P-256) when the store has none. Default NodeKeyFactory. */
  keys?: KeyFactory;
  /** An extra CA (PEM) to trust for the directory's HTTPS, e.g. pebble's listener certificate. */
  trustedCaPem?: string;
  logger?: Logger;
  /**
   * Polling of authorizations and orders (acme-client's backoff): attempts, first and
   * largest delay (doubling in between). Default 15 attempts from 0.5 s up to 10 s, about
   * 105 s in all.
   */
  polling?: { attempts?: number; minDelayMs?: number; maxDelayMs?: number };
  /** Timeout of one HTTP request to the CA. Default 30 s. */
  requestTimeoutMs?: number;
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

const ORDER_STATUSES: readonly OrderStatus[] = [
  'pending',
  'ready',
  'processing',
  'valid',
  'invalid',
];

function toOrderState(order: Order): OrderState {
  if (!ORDER_STATUSES.includes(order.status)) {
    throw new CertloopError('transient', `ACME order ${order.url} has an unknown status`, {
      source: 'ca',
    });
  }
  const state: OrderState = {
    url: order.url,
    status: order.status,
    // Order identifiers carry the `*.` of wildcards (their authorizations do not).
    domains: order.identifiers.map((identifier) => identifier.value).sort(),
  };
  if (order.expires !== undefined) {
    const expiresAt = Date.parse(order.expires);
    if (!Number.isNaN(expiresAt)) state.expiresAt = expiresAt;
  }
  return state;
}

function authorizationName(authz: Authorization): string {
  const base = authz.identifier.value.replace(/^\*\./, '');
  return authz.wildcard ? `*.${base}` : base;
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
function asksToWait(error: unknown): boolean {
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

/** AcmeCa on acme-client 5.4: one ACME account per instance, created on first use. */
export class AcmeClientCa implements AcmeCa {
  readonly directoryUrl: string;
  readonly #options: AcmeClientCaOptions;
  readonly #keys: KeyFactory;
  readonly #agent: Agent | undefined;
  #client: Promise<Client> | undefined;

  constructor(options: AcmeClientCaOptions) {
    this.directoryUrl = options.directoryUrl;
    this.#options = options;
    this.#keys = options.keys ?? new NodeKeyFactory();
    // Only this instance's requests trust the extra CA (system roots stay trusted). The
    // TLS context is built once: given as `ca`, Node would parse the ~140 system roots
    // again for every connection (35-40 ms of CPU each), and acme-client opens one for
    // most requests. Measured by the batch-issuance bench and the R1 drill.
    this.#agent =
      options.trustedCaPem === undefined
        ? undefined
        : new Agent({
            keepAlive: true,
            secureContext: createSecureContext({
              ca: [...rootCertificates, options.trustedCaPem],
            }),
          });
  }

  /** The account URL, creating or finding the account if needed. */
  async accountUrl(): Promise<string> {
    return (await this.#account()).getAccountUrl();
  }

  async placeOrder(request: {
    domains: string[];
    profile?: string;
    replaces?: string;
  }): Promise<OrderState> {
    const client = await this.#account();
    // acme-client sends newOrder fields it does not know (profile, replaces) unchanged.
    const payload: Parameters<Client['createOrder']>[0] & { profile?: string; replaces?: string } =
      {
        identifiers: request.domains.map((value) => ({ type: 'dns', value })),
      };
    if (request.profile !== undefined) payload.profile = request.profile;
    if (request.replaces !== undefined) payload.replaces = request.replaces;
    const order = await this.#call({ operation: 'place order', identifiers: request.domains }, () =>
      client.createOrder(payload),
    );
    this.#options.logger?.debug('acme order placed', {
      orderUrl: order.url,
      status: order.status,
      domains: request.domains,
    });
    return toOrderState(order);
  }

  async getOrder(url: string): Promise<OrderState> {
    return toOrderState(await this.#fetchOrder(await this.#account(), url, 'read order'));
  }

  async pendingDns01Challenges(orderUrl: string): Promise<Dns01Challenge[]> {
    const client = await this.#account();
    const order = await this.#fetchOrder(client, orderUrl, 'list challenges');
    const authorizations = await this.#call({ operation: 'read authorizations', orderUrl }, () =>
      client.getAuthorizations(order),
    );
    const challenges: Dns01Challenge[] = [];
    for (const authz of authorizations) {
      if (authz.status !== 'pending') continue;
      const identifier = authorizationName(authz);
      const challenge = authz.challenges.find((candidate) => candidate.type === 'dns-01');
      if (!challenge) {
        const message = `the CA offers no dns-01 challenge for ${identifier}`;
        throw new CertloopError('permanent', message, { source: 'ca' });
      }
      challenges.push({
        identifier,
        recordName: `_acme-challenge.${authz.identifier.value.replace(/^\*\./, '')}`,
        // For dns-01 this is already the TXT value: base64url(SHA-256(key authorization)).
        recordValue: await client.getChallengeKeyAuthorization(challenge),
        challengeUrl: challenge.url,
        authorizationUrl: authz.url,
      });
    }
    return challenges.sort((a, b) => a.identifier.localeCompare(b.identifier));
  }

  async answerChallenges(challenges: Dns01Challenge[]): Promise<void> {
    if (challenges.length === 0) return;
    const client = await this.#account();
    const results = await Promise.allSettled(
      challenges.map((challenge) => this.#answer(client, challenge)),
    );
    const failures = results.flatMap((result) =>
      result.status === 'rejected'
        ? [translateAcmeError(result.reason, { operation: 'answer challenge' })]
        : [],
    );
    if (failures.length > 0) throw combineErrors(failures);
    this.#options.logger?.debug('acme challenges answered', { count: challenges.length });
  }

  async finalize(orderUrl: string, csrPem: string): Promise<OrderState> {
    const client = await this.#account();
    let order = await this.#fetchOrder(client, orderUrl, 'finalize order');
    if (order.status === 'ready') {
      const ready = order;
      order = await this.#call({ operation: 'finalize order', orderUrl }, () =>
        client.finalizeOrder(ready, csrPem),
      );
    } else if (order.status === 'pending' || order.status === 'invalid') {
      throw this.#orderNotUsable(order, 'finalize');
    }
    // 'processing' (here or after a crash) or 'valid' (already finalized): wait or return.
    if (order.status === 'processing') order = await this.#waitForOrder(client, order);
    this.#options.logger?.debug('acme order finalized', { orderUrl, status: order.status });
    return toOrderState(order);
  }

  async downloadCertificate(orderUrl: string): Promise<string> {
    const client = await this.#account();
    let order = await this.#fetchOrder(client, orderUrl, 'download certificate');
    if (order.status === 'processing') order = await this.#waitForOrder(client, order);
    if (order.status !== 'valid') throw this.#orderNotUsable(order, 'download the certificate of');
    const valid = order;
    return this.#call({ operation: 'download certificate', orderUrl }, () =>
      client.getCertificate(valid),
    );
  }

  #account(): Promise<Client> {
    if (!this.#client) {
      const attempt = this.#connect();
      this.#client = attempt;
      // A failed attempt is forgotten so that the next call tries again.
      attempt.catch(() => {
        if (this.#client === attempt) this.#client = undefined;
      });
    }
    return this.#client;
  }

  async #connect(): Promise<Client> {
    const key = await this.#options.secrets.getOrCreateAccountKey(this.directoryUrl, () =>
      this.#keys.generate('ec-p256'),
    );
    const polling = this.#options.polling ?? {};
    const client = new AcmeClient({
      directoryUrl: this.directoryUrl,
      accountKey: key.reveal(),
      backoffAttempts: polling.attempts ?? 15,
      backoffMin: polling.minDelayMs ?? 500,
      backoffMax: polling.maxDelayMs ?? 10_000,
    });
    this.#hookHttp(client);
    await this.#findOrCreateAccount(client);
    this.#options.logger?.info('acme account ready', {
      directoryUrl: this.directoryUrl,
      accountUrl: client.getAccountUrl(),
    });
    return client;
  }

  /**
   * newAccount is idempotent for a known key (RFC 8555 7.3.1: 200 and the account URL),
   * but acme-client follows a 200 with an account update carrying the same payload, and
   * an update without contact is refused by pebble ("use POST-as-GET"). So: look the
   * account up first (`onlyReturnExisting`, followed by a POST-as-GET), create it only
   * when the CA does not know the key, and look it up once more if the creation lost a
   * race against another instance holding the same key.
   */
  async #findOrCreateAccount(client: Client): Promise<void> {
    const lookUp = () => client.createAccount({ onlyReturnExisting: true });
    try {
      await lookUp();
      return;
    } catch (error) {
      const unknownKey =
        error instanceof AcmeProblemError &&
        shortProblemType(error.problem?.type) === 'accountDoesNotExist';
      if (!unknownKey) throw translateAcmeError(error, { operation: 'find account' });
    }
    const contact = this.#options.contactEmail;
    try {
      await client.createAccount({
        termsOfServiceAgreed: true,
        ...(contact === undefined ? {} : { contact: [`mailto:${contact}`] }),
      });
    } catch (error) {
      await this.#call({ operation: 'create account' }, lookUp).catch(() => {
        throw translateAcmeError(error, { operation: 'create account' });
      });
    }
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
  #hookHttp(client: Client): void {
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
    const agent = this.#agent;
    const timeout = this.#options.requestTimeoutMs ?? 30_000;
    const logger = this.#options.logger;
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

  async #call<T>(context: AcmeOperationContext, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw translateAcmeError(error, context);
    }
  }

  #fetchOrder(client: Client, url: string, operation: string): Promise<Order> {
    // getOrder only needs the URL of the order object.
    return this.#call({ operation, orderUrl: url }, () => client.getOrder({ url } as Order));
  }

  async #answer(client: Client, challenge: Dns01Challenge): Promise<void> {
    try {
      await client.completeChallenge({ type: 'dns-01', url: challenge.challengeUrl } as Parameters<
        Client['completeChallenge']
      >[0]);
    } catch (error) {
      // After a crash the challenge may already be processing or valid: then just wait.
      // A CA that asked to wait gets no further request now.
      const authz = asksToWait(error)
        ? undefined
        : await this.#readAuthorization(client, challenge).catch(() => undefined);
      const current = authz?.challenges.find(
        (candidate) => candidate.url === challenge.challengeUrl,
      );
      if (
        authz?.status !== 'valid' &&
        current?.status !== 'processing' &&
        current?.status !== 'valid'
      ) {
        throw translateAcmeError(error, {
          operation: `answer challenge for ${challenge.identifier}`,
        });
      }
    }
    try {
      await this.#waitForValid(() => this.#readAuthorization(client, challenge));
    } catch (error) {
      throw await this.#describeValidationFailure(client, challenge, error);
    }
  }

  /**
   * Polls an order or authorization as acme-client's waitForValidStatus does (same
   * attempts, delays doubling from the minimum up to the maximum; `ready` or `valid` ends
   * it; a plain Error when it turns invalid or is still pending after the last attempt),
   * except that an answer asking to wait ends it at once: the library's loop retries
   * every error, so it would poll straight over a 429 and its Retry-After.
   */
  async #waitForValid<T extends { status: string }>(read: () => Promise<T>): Promise<T> {
    const polling = this.#options.polling ?? {};
    const attempts = polling.attempts ?? 15;
    const minDelayMs = polling.minDelayMs ?? 500;
    const maxDelayMs = polling.maxDelayMs ?? 10_000;
    for (let attempt = 1; ; attempt++) {
      let item: T | undefined;
      try {
        item = await read();
      } catch (error) {
        if (asksToWait(error) || attempt >= attempts) throw error;
      }
      if (item?.status === 'ready' || item?.status === 'valid') return item;
      if (item?.status === 'invalid') throw new Error('the item became invalid');
      if (attempt >= attempts) throw new Error('Operation is pending or processing');
      const delay = Math.min(minDelayMs * 2 ** (attempt - 1), maxDelayMs);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async #readAuthorization(client: Client, challenge: Dns01Challenge): Promise<Authorization> {
    const [authz] = await client.getAuthorizations({
      authorizations: [challenge.authorizationUrl],
    } as Order);
    if (!authz) throw new Error(`authorization ${challenge.authorizationUrl} not returned`);
    return authz;
  }

  async #describeValidationFailure(
    client: Client,
    challenge: Dns01Challenge,
    error: unknown,
  ): Promise<CertloopError> {
    if (error instanceof AcmeProblemError || error instanceof CertloopError) {
      return translateAcmeError(error, { operation: `validation of ${challenge.identifier}` });
    }
    let authz: Authorization;
    try {
      authz = await this.#readAuthorization(client, challenge);
    } catch (readError) {
      return translateAcmeError(readError, { operation: `validation of ${challenge.identifier}` });
    }
    if (authz.status === 'invalid') {
      const failed =
        authz.challenges.find(
          (candidate) => candidate.url === challenge.challengeUrl && candidate.error,
        ) ?? authz.challenges.find((candidate) => candidate.error);
      return validationError(challenge.identifier, asProblem(failed?.error));
    }
    return new CertloopError(
      'transient',
      `DNS-01 validation of ${challenge.identifier} did not finish: the authorization is still ${authz.status}`,
      { source: 'ca' },
    );
  }

  async #waitForOrder(client: Client, order: Order): Promise<Order> {
    try {
      return await this.#waitForValid(() => client.getOrder(order));
    } catch (error) {
      if (error instanceof AcmeProblemError || error instanceof CertloopError) {
        throw translateAcmeError(error, { operation: 'wait for order', orderUrl: order.url });
      }
      const current = await this.#fetchOrder(client, order.url, 'wait for order');
      if (current.status === 'valid') return current;
      throw this.#orderNotUsable(current, 'wait for');
    }
  }

  #orderNotUsable(order: Order, action: string): CertloopError {
    const problem = asProblem(order.error);
    const type = shortProblemType(problem?.type);
    const reason = problem
      ? `: ${type ?? 'error'}${problem.detail ? ` ${sanitize(problem.detail)}` : ''}`
      : '';
    return new CertloopError(
      order.status === 'invalid' ? kindForProblemType(type) : 'transient',
      `cannot ${action} ACME order ${order.url}: it is ${order.status}${reason}`,
      { source: 'ca' },
    );
  }
}
