import type { FrontLedger, SuggestedWindowJson } from './ledger.js';
import type { ForwardedAnswer } from './upstream.js';

/**
 * The front's renewalInfo resource (RFC 9773 section 4.2): `GET <renewalInfo>/<certID>`
 * answers 200 with `{"suggestedWindow": {"start", "end"}, "explanationURL"?}` and a
 * `Retry-After` header, or 404 with a problem document for a certificate ID the front has
 * not seen issued. A malformed certificate ID is simply unknown: 404 as well, never 400.
 *
 * Faults for tests of clients (set through the management API): `5xx` (500
 * serverInternal), `404` (as if unknown), `timeout` (held unanswered until the client
 * gives up or the front stops), `malformed-json` (200 with a truncated JSON body),
 * `end-before-start` (200 with the window's ends swapped) and `years-away` (200 with a
 * window five years from now), each for the next `count` requests or until changed.
 */

export const RENEWAL_INFO_FAULTS = [
  'none',
  '5xx',
  '404',
  'timeout',
  'malformed-json',
  'end-before-start',
  'years-away',
] as const;
export type RenewalInfoFault = (typeof RENEWAL_INFO_FAULTS)[number];

export interface RenewalInfoFaultSetting {
  fault: RenewalInfoFault;
  /** For the next `count` renewalInfo requests; until changed when absent. */
  count?: number;
}

const YEAR_MS = 365 * 24 * 3_600_000;
const DAY_MS = 24 * 3_600_000;

function json(
  status: number,
  value: unknown,
  extra: Array<[string, string]> = [],
): ForwardedAnswer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  return {
    status,
    headers: [
      ['Content-Type', status >= 400 ? 'application/problem+json' : 'application/json'],
      ...extra,
    ],
    body,
  };
}

export class RenewalInfoResource {
  readonly #ledger: FrontLedger;
  readonly #clock: () => number;
  readonly #retryAfterSeconds: number;
  readonly #explanationUrl: string | undefined;
  #fault: RenewalInfoFault = 'none';
  #left: number | undefined;
  /** How many renewalInfo requests were answered (or held), by outcome. */
  readonly served = { ok: 0, notFound: 0, faulted: 0 };

  constructor(options: {
    ledger: FrontLedger;
    clock: () => number;
    retryAfterSeconds: number;
    explanationUrl?: string;
  }) {
    this.#ledger = options.ledger;
    this.#clock = options.clock;
    this.#retryAfterSeconds = options.retryAfterSeconds;
    this.#explanationUrl = options.explanationUrl;
  }

  setFault(setting: RenewalInfoFaultSetting): void {
    this.#fault = setting.fault;
    this.#left = setting.fault === 'none' ? undefined : setting.count;
  }

  fault(): RenewalInfoFaultSetting {
    return { fault: this.#fault, ...(this.#left === undefined ? {} : { count: this.#left }) };
  }

  #takeFault(): RenewalInfoFault {
    const fault = this.#fault;
    if (fault !== 'none' && this.#left !== undefined) {
      this.#left -= 1;
      if (this.#left <= 0) {
        this.#fault = 'none';
        this.#left = undefined;
      }
    }
    return fault;
  }

  /** The answer to `GET <renewalInfo>/<certId>`, or 'hold' for the timeout fault. */
  answer(certId: string): ForwardedAnswer | 'hold' {
    const fault = this.#takeFault();
    if (fault !== 'none') this.served.faulted += 1;
    switch (fault) {
      case 'timeout':
        return 'hold';
      case '5xx':
        return json(500, {
          type: 'urn:ietf:params:acme:error:serverInternal',
          detail: 'renewalInfo failed (injected fault)',
          status: 500,
        });
      case 'malformed-json':
        return {
          status: 200,
          headers: [
            ['Content-Type', 'application/json'],
            ['Retry-After', String(this.#retryAfterSeconds)],
          ],
          body: Buffer.from('{"suggestedWindow": {"start": "2', 'utf8'),
        };
      default:
        break;
    }
    const certificate = fault === '404' ? undefined : this.#ledger.certificate(certId);
    if (!certificate) {
      if (fault === 'none') this.served.notFound += 1;
      return json(404, {
        type: 'about:blank',
        detail: `no certificate with ARI identifier "${certId}"`,
        status: 404,
      });
    }
    let window: SuggestedWindowJson = certificate.window;
    if (fault === 'end-before-start') window = { start: window.end, end: window.start };
    if (fault === 'years-away') {
      const start = this.#clock() + 5 * YEAR_MS;
      window = {
        start: new Date(start).toISOString(),
        end: new Date(start + 2 * DAY_MS).toISOString(),
      };
    }
    if (fault === 'none') this.served.ok += 1;
    return json(
      200,
      {
        suggestedWindow: window,
        ...(this.#explanationUrl === undefined ? {} : { explanationURL: this.#explanationUrl }),
      },
      [['Retry-After', String(this.#retryAfterSeconds)]],
    );
  }
}
