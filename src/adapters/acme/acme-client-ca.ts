import type { Agent } from 'node:https';
import { CertloopError } from '../../core/errors.js';
import type { KeyMaterial } from '../../core/key-material.js';
import type { RenewalInfoAnswer } from '../../core/renewal-info.js';
import type { AcmeCa, Dns01Challenge, OrderState, OrderStatus } from '../../ports/acme-ca.js';
import type { EabKeySource } from '../../ports/eab-key-source.js';
import type { KeyFactory } from '../../ports/key-factory.js';
import type { Logger } from '../../ports/logger.js';
import type { SecretStore } from '../../ports/secret-store.js';
import { connectAccount } from './acme-account.js';
import { AcmeClient, type Authorization, type Client, type Order } from './acme-client-modules.js';
import { AcmeDirectory, acmeAgent } from './acme-directory.js';
import {
  type AcmeOperationContext,
  AcmeProblemError,
  asProblem,
  combineErrors,
  kindForProblemType,
  sanitize,
  shortProblemType,
  translateAcmeError,
  validationError,
} from './acme-errors.js';
import { asksToWait, hookClientHttp } from './acme-http.js';

export interface AcmeClientCaOptions {
  directoryUrl: string;
  /** The issuer's name in the deployment, for messages. Default: the directory URL. */
  issuerName?: string;
  /** Contact for the account (`mailto:`), if any. */
  contactEmail?: string;
  /**
   * External Account Binding (RFC 8555 section 7.3.4): the key id the CA gave and where
   * its HMAC key is read. The key is read only when an account is created.
   */
  eab?: { keyId: string; hmacKey: EabKeySource };
  /** Where the account key lives (one per directory URL and EAB key id). */
  secrets: SecretStore;
  /** Generates the account key (EC P-256) when the store has none. */
  keys: KeyFactory;
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
  /** Timeout of a renewal information read (never urgent). Default 10 s. */
  renewalInfoTimeoutMs?: number;
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

/** AcmeCa on acme-client 5.4: one ACME account per instance, created on first use. */
export class AcmeClientCa implements AcmeCa {
  readonly directoryUrl: string;
  readonly #options: AcmeClientCaOptions;
  readonly #keys: KeyFactory;
  readonly #agent: Agent | undefined;
  readonly #directory: AcmeDirectory;
  #client: Promise<Client> | undefined;

  constructor(options: AcmeClientCaOptions) {
    this.directoryUrl = options.directoryUrl;
    this.#options = options;
    this.#keys = options.keys;
    // Only this instance's requests trust the extra CA (system roots stay trusted).
    this.#agent = acmeAgent(options.trustedCaPem);
    this.#directory = new AcmeDirectory({
      directoryUrl: options.directoryUrl,
      ...(options.renewalInfoTimeoutMs ? { requestTimeoutMs: options.renewalInfoTimeoutMs } : {}),
      ...(this.#agent ? { agent: this.#agent } : {}),
    });
  }

  renewalInfo(certId: string): Promise<RenewalInfoAnswer | undefined> {
    return this.#directory.renewalInfo(certId);
  }

  profiles(): Promise<Record<string, string> | undefined> {
    return this.#directory.profiles();
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
    // RFC 9773 section 5: `replaces` only to a CA that offers renewal information.
    if (request.replaces !== undefined && (await this.#directory.offersRenewalInfo()))
      payload.replaces = request.replaces;
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

  #connect(): Promise<Client> {
    const { directoryUrl, issuerName, contactEmail, eab, secrets, logger } = this.#options;
    return connectAccount({
      directoryUrl,
      secrets,
      keys: this.#keys,
      ...(issuerName === undefined ? {} : { issuerName }),
      ...(contactEmail === undefined ? {} : { contactEmail }),
      ...(eab === undefined ? {} : { eab }),
      ...(logger === undefined ? {} : { logger }),
      newClient: (key, binding) => this.#newClient(key, binding),
    });
  }

  /** An acme-client client on `key`; with `binding`, its newAccount carries it. */
  #newClient(key: KeyMaterial, binding?: { kid: string; hmacKey: string }): Client {
    const polling = this.#options.polling ?? {};
    const client = new AcmeClient({
      directoryUrl: this.directoryUrl,
      accountKey: key.reveal(),
      ...(binding ? { externalAccountBinding: binding } : {}),
      backoffAttempts: polling.attempts ?? 15,
      backoffMin: polling.minDelayMs ?? 500,
      backoffMax: polling.maxDelayMs ?? 10_000,
    });
    this.#hookHttp(client);
    return client;
  }

  #hookHttp(client: Client): void {
    hookClientHttp(client, {
      ...(this.#agent ? { agent: this.#agent } : {}),
      timeoutMs: this.#options.requestTimeoutMs ?? 30_000,
      ...(this.#options.logger ? { logger: this.#options.logger } : {}),
    });
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
