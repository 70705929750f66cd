import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import * as z from 'zod/mini';
import { CertloopError } from '../../core/errors.js';
import type { RenewalInfoAnswer } from '../../core/renewal-info.js';
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

/**
 * The HTTPS agent of one CA's clients when it needs an extra CA (PEM) trusted, e.g.
 * pebble's listener certificate; undefined (system roots) otherwise. The TLS context is
 * built once: given as `ca`, Node would parse the ~140 system roots again for every
 * connection (35-40 ms of CPU each).
 */
export function acmeAgent(trustedCaPem: string | undefined): Agent | undefined {
  if (trustedCaPem === undefined) return undefined;
  return new Agent({
    keepAlive: true,
    secureContext: createSecureContext({ ca: [...rootCertificates, trustedCaPem] }),
  });
}

/** Directory and renewalInfo answers are small; anything larger is not one. */
const MAX_BODY_BYTES = 64 * 1024;

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  data: unknown;
}

interface Directory {
  renewalInfo?: string;
  profiles?: Record<string, string>;
}

/**
 * The unauthenticated reads of an ACME CA: its directory (`renewalInfo`, RFC 9773, and
 * `meta.profiles`) and renewal information for a certificate. No account is needed, so
 * functions without the issuance adapters (the Renew function's ARI re-check) use it too.
 *
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

  /**
   * One GET with node:https (no acme-client, no axios: the Renew function's ARI re-check
   * needs no account and keeps its bundle small). No retries: a failed check backs off on
   * certloop's own ARI schedule. A body that is not JSON comes back as `undefined` data.
   */
  #get(url: string, source: 'ca' | 'ari'): Promise<HttpAnswer> {
    const timeout = this.#options.requestTimeoutMs ?? 10_000;
    const giveUp = (reason: string) =>
      new CertloopError(
        'transient',
        `no answer from ${url} within ${timeout} ms or the connection failed (${reason})`,
        { source },
      );
    return new Promise((resolve, reject) => {
      // https everywhere but a plain-http test CA (the issuer config allows http URLs).
      const request = url.startsWith('http:') ? httpRequest : httpsRequest;
      const req = request(
        url,
        {
          method: 'GET',
          headers: { accept: 'application/json' },
          timeout,
          ...(this.#options.agent && request === httpsRequest
            ? { agent: this.#options.agent }
            : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) req.destroy(new Error('answer larger than 64 KiB'));
            else chunks.push(chunk);
          });
          res.on('end', () => {
            let data: unknown;
            try {
              data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              data = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, data });
          });
          res.on('error', (error) => reject(giveUp(sanitize(error.message))));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error) => reject(giveUp(sanitize(error.message))));
      req.end();
    });
  }
}

function failure(message: string): CertloopError {
  return new CertloopError('transient', message, { source: 'ari' });
}
