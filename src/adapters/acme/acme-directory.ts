import type { Agent } from 'node:https';
import * as z from 'zod/mini';
import { CertloopError } from '../../core/errors.js';
import type { RenewalInfoAnswer } from '../../core/renewal-info.js';
import { acmeAxios } from './acme-client-modules.js';
import { parseRetryAfter, sanitize } from './acme-errors.js';

export interface AcmeDirectoryOptions {
  directoryUrl: string;
  /** The HTTPS agent of the CA's client (its trust store); system roots without one. */
  agent?: Agent;
  /** Timeout of one request. Default 10 s: a renewalInfo check is never urgent. */
  requestTimeoutMs?: number;
}

const directorySchema = z.looseObject({
  renewalInfo: z.optional(z.string()),
  meta: z.optional(z.looseObject({ profiles: z.optional(z.record(z.string(), z.string())) })),
});

const renewalInfoSchema = z.looseObject({
  suggestedWindow: z.object({ start: z.string(), end: z.string() }),
  explanationURL: z.optional(z.string()),
});

interface Directory {
  renewalInfo?: string;
  profiles?: Record<string, string>;
}

/**
 * The unauthenticated reads of an ACME CA: its directory (`renewalInfo`, RFC 9773, and
 * `meta.profiles`) and renewal information for a certificate. No account is needed, so
 * functions without the issuance adapters (the Renew function's ARI re-check) use it too.
 *
 * Requests go through acme-client's HTTP instance with its retries turned off: a failed
 * check backs off on certloop's own ARI schedule instead of sleeping inside a function.
 * Failures are CertloopError kind `transient`, source `ari` (directory: `ca`).
 */
export class AcmeDirectory {
  readonly directoryUrl: string;
  readonly #options: AcmeDirectoryOptions;
  #directory: Promise<Directory> | undefined;

  constructor(options: AcmeDirectoryOptions) {
    this.directoryUrl = options.directoryUrl;
    this.#options = options;
  }

  /** Profiles the directory advertises (name -> description); undefined for none. */
  async profiles(): Promise<Record<string, string> | undefined> {
    return (await this.#read()).profiles;
  }

  /** Whether the CA offers renewal information (a `renewalInfo` URL in its directory). */
  async offersRenewalInfo(): Promise<boolean> {
    return (await this.#read()).renewalInfo !== undefined;
  }

  /**
   * The CA's renewal information for the certificate `certId` (RFC 9773 section 4.2):
   * undefined when the directory offers none; the window as instants, the explanation
   * URL, and the answer's Retry-After. A 404, any other error status, a timeout or an
   * answer that is not the RFC's shape throws (kind `transient`, source `ari`).
   */
  async renewalInfo(certId: string): Promise<RenewalInfoAnswer | undefined> {
    const base = (await this.#read()).renewalInfo;
    if (base === undefined) return undefined;
    const url = `${base.replace(/\/$/, '')}/${certId}`;
    const response = await this.#get(url, 'ari');
    if (response.status !== 200) {
      throw failure(
        `renewal information for ${certId}: HTTP ${response.status}${response.status === 404 ? ' (the CA does not know this certificate)' : ''}`,
      );
    }
    const parsed = renewalInfoSchema.safeParse(response.data);
    if (!parsed.success) {
      throw failure(`renewal information for ${certId} is not an RFC 9773 answer`);
    }
    const start = Date.parse(parsed.data.suggestedWindow.start);
    const end = Date.parse(parsed.data.suggestedWindow.end);
    if (Number.isNaN(start) || Number.isNaN(end)) {
      throw failure(`renewal information for ${certId} has a window that is not RFC 3339 times`);
    }
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'], Date.now());
    const explanation = parsed.data.explanationURL;
    return {
      window: { start, end },
      ...(explanation !== undefined && /^https?:\/\//.test(explanation)
        ? { explanationUrl: explanation.slice(0, 500) }
        : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }

  #read(): Promise<Directory> {
    if (!this.#directory) {
      const attempt = this.#fetchDirectory();
      this.#directory = attempt;
      attempt.catch(() => {
        if (this.#directory === attempt) this.#directory = undefined;
      });
    }
    return this.#directory;
  }

  async #fetchDirectory(): Promise<Directory> {
    const response = await this.#get(this.directoryUrl, 'ca');
    const parsed = response.status === 200 ? directorySchema.safeParse(response.data) : undefined;
    if (!parsed?.success) {
      throw new CertloopError(
        'transient',
        `ACME directory ${this.directoryUrl} answered HTTP ${response.status} without a usable directory`,
        { source: 'ca' },
      );
    }
    const profiles = parsed.data.meta?.profiles;
    return {
      ...(parsed.data.renewalInfo !== undefined ? { renewalInfo: parsed.data.renewalInfo } : {}),
      ...(profiles !== undefined && Object.keys(profiles).length > 0 ? { profiles } : {}),
    };
  }

  async #get(url: string, source: 'ca' | 'ari') {
    const timeout = this.#options.requestTimeoutMs ?? 10_000;
    try {
      return await acmeAxios.get(url, {
        timeout,
        validateStatus: () => true,
        // acme-client's interceptor retries 5xx and lost answers up to five times,
        // sleeping 5-25 s; a count already past its limit turns that off for this request.
        retryAttempt: Number.POSITIVE_INFINITY,
        ...(this.#options.agent ? { httpsAgent: this.#options.agent } : {}),
      } as Parameters<typeof acmeAxios.get>[1]);
    } catch (error) {
      const message = error instanceof Error ? sanitize(error.message) : 'unknown error';
      throw new CertloopError(
        'transient',
        `no answer from ${url} within ${timeout} ms or the connection failed (${message})`,
        { source },
      );
    }
  }
}

function failure(message: string): CertloopError {
  return new CertloopError('transient', message, { source: 'ari' });
}
