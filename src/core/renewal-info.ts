import { lifetimeRenewalTime, lifetimeRule, type ValidityPeriod } from './renewal-window.js';
import { DAY, HOUR, type Instant, MINUTE, type Random } from './time.js';

/**
 * ACME Renewal Information (RFC 9773): the CA's suggested renewal window for one
 * certificate, and what certloop does with it. Pure: the answer, the record's state,
 * `now` and a random source are the whole input.
 */

/** The suggested window of a renewalInfo answer (RFC 9773 section 4.2). */
export interface SuggestedWindow {
  start: Instant;
  end: Instant;
}

/** A renewalInfo answer as the adapter read it (shape checked, meaning not yet). */
export interface RenewalInfoAnswer {
  window: SuggestedWindow;
  explanationUrl?: string;
  /** The CA's Retry-After on the answer, if it sent one. */
  retryAfterMs?: number;
}

/** What a record keeps of ARI for its current certificate. */
export interface AriState {
  /** The certificate's ARI identifier (see `ariCertificateId`). */
  certId: string;
  /** The last window the CA suggested and certloop accepted. */
  window?: SuggestedWindow;
  explanationUrl?: string;
  /** When to ask the CA again. */
  checkAt: Instant;
  /** Consecutive failed checks (their own backoff; never the certificate's failure count). */
  failures: number;
  /** Why the last check was not used, for a person (absent after a good answer). */
  problem?: string;
}

/** Re-check bounds for a CA's Retry-After, and the interval when it sends none. */
export const ARI_RECHECK_MIN = HOUR;
export const ARI_RECHECK_MAX = 24 * HOUR;
export const ARI_RECHECK_DEFAULT = 6 * HOUR;
/**
 * ARI may move a renewal earlier, never later than the lifetime rule plus this fraction
 * of the lifetime: a window the CA moved far out never makes a certificate late.
 */
export const ARI_LATEST_EXTRA = 0.05;
/** Backoff of failed checks: 5 min, doubling, capped at the default re-check interval. */
const ARI_FAILURE_FIRST_DELAY = 5 * MINUTE;

/**
 * The ARI certificate identifier (RFC 9773 section 4.1): base64url (no padding) of the
 * Authority Key Identifier's keyIdentifier, ".", base64url of the serial number's DER
 * INTEGER content octets. A serial whose first byte has its high bit set gets a leading
 * zero byte, as DER requires for a positive integer; redundant leading zero bytes are
 * dropped. `serialHex` is the serial as hex (any case, ":" separators allowed).
 */
export function ariCertificateId(authorityKeyId: Uint8Array, serialHex: string): string {
  if (authorityKeyId.length === 0) throw new TypeError('the authority key identifier is empty');
  return `${base64url(authorityKeyId)}.${base64url(serialDerBytes(serialHex))}`;
}

/** The content octets of a positive DER INTEGER holding the serial `serialHex`. */
export function serialDerBytes(serialHex: string): Uint8Array {
  const digits = serialHex.replace(/:/g, '').toLowerCase();
  if (digits.length === 0 || !/^[0-9a-f]+$/.test(digits)) {
    throw new TypeError(`"${serialHex}" is not a hexadecimal serial number`);
  }
  const even = digits.length % 2 === 1 ? `0${digits}` : digits;
  let bytes = Uint8Array.from(even.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
  let first = 0;
  while (first < bytes.length - 1 && bytes[first] === 0 && ((bytes[first + 1] ?? 0) & 0x80) === 0)
    first++;
  bytes = bytes.slice(first);
  if (((bytes[0] ?? 0) & 0x80) !== 0) bytes = Uint8Array.from([0, ...bytes]);
  return bytes;
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/**
 * The latest instant ARI may set for a certificate: the lifetime rule + ARI_LATEST_EXTRA
 * of the lifetime, and never so late that the expiry alarm (under min(14 days, 1/3 of
 * the lifetime) left) would fire before the renewal is done: a 30th of the lifetime
 * before that line.
 */
export function latestAriRenewal(validity: ValidityPeriod): Instant {
  const lifetime = Math.max(0, validity.notAfter - validity.notBefore);
  const byRule = lifetimeRenewalTime(validity, 0) + lifetime * ARI_LATEST_EXTRA;
  const beforeAlarm = validity.notAfter - Math.min(14 * DAY, lifetime / 3) - lifetime / 30;
  return Math.floor(Math.min(byRule, beforeAlarm));
}

/**
 * Why a suggested window cannot be used for this certificate, or undefined when it can:
 * an end before its start, or a window that starts after the latest instant ARI may set
 * (a window years away). Such an answer leaves the lifetime rule in force.
 */
export function windowProblem(
  window: SuggestedWindow,
  validity: ValidityPeriod,
): string | undefined {
  if (!Number.isFinite(window.start) || !Number.isFinite(window.end))
    return 'the suggested window has no valid start or end';
  if (window.end < window.start) return 'the suggested window ends before it starts';
  const latest = latestAriRenewal(validity);
  if (window.start > latest) {
    return `the suggested window starts at ${new Date(window.start).toISOString()}, after the latest renewal the lifetime allows (${new Date(latest).toISOString()})`;
  }
  return undefined;
}

/** When to ask again after a good answer: its Retry-After clamped to 1 h..24 h, else 6 h. */
export function nextAriCheck(now: Instant, retryAfterMs: number | undefined): Instant {
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs))
    return now + ARI_RECHECK_DEFAULT;
  return now + Math.min(ARI_RECHECK_MAX, Math.max(ARI_RECHECK_MIN, retryAfterMs));
}

/** When to ask again after a failed check: 5 min doubling per failure, capped at 6 h. */
export function ariRetryAfterFailure(now: Instant, failures: number): Instant {
  const delay = ARI_FAILURE_FIRST_DELAY * 2 ** Math.max(0, Math.min(failures - 1, 16));
  return now + Math.min(ARI_RECHECK_DEFAULT, delay);
}

/** The renewal time a record holds after an ARI step, with the rule behind it. */
export interface AriDecision {
  /** Absent for a CA that offers no ARI: nothing to check until the next issuance. */
  ari?: AriState;
  renewAt: Instant;
  rule: 'ari-suggested-window' | 'two-thirds-of-lifetime' | 'half-of-lifetime';
  /** The window is not the one stored before (a new or moved window). */
  windowMoved: boolean;
  detail: string;
}

export interface AriInput {
  certId: string;
  validity: ValidityPeriod;
  /** The lifetime rule's renewal time of this certificate (picked once, stored). */
  lifetimeRenewAt: Instant;
  /** What the record held before this check (undefined right after issuance). */
  previous?: AriState;
  /** The renewal time the record holds now (kept when the window did not move). */
  previousRenewAt?: Instant;
  now: Instant;
  random: Random;
}

/**
 * Applies a renewalInfo outcome: a good answer, `unsupported` for a CA that offers no
 * ARI (the record then keeps no ARI state), or a failure message. A usable window that is unchanged keeps the instant picked
 * before (chosen once, stored); a new or moved window gets a uniform instant inside it,
 * capped at `latestAriRenewal`; an instant in the past means renew now. Anything else
 * (no ARI, a failure, a window that cannot be used) leaves the lifetime rule in force.
 */
export function applyRenewalInfo(
  input: AriInput,
  outcome: { answer: RenewalInfoAnswer } | { unsupported: true } | { failure: string },
): AriDecision {
  const { now, validity, previous } = input;
  const keepLifetimeRule = (problem: string | undefined, ari?: AriState): AriDecision => ({
    ...(ari ? { ari } : {}),
    renewAt: input.lifetimeRenewAt,
    rule: lifetimeRule(validity),
    windowMoved: previous?.window !== undefined,
    detail: problem ?? 'the CA offers no renewal information',
  });
  // A CA without ARI is not asked again for this certificate: a deployment that moves
  // to one that offers it picks it up at the next issuance.
  if ('unsupported' in outcome) return keepLifetimeRule(undefined);
  if ('failure' in outcome) {
    const failures = (previous?.failures ?? 0) + 1;
    // A failed check keeps a window accepted earlier: the CA said it, and nothing since
    // contradicted it.
    const kept = previous?.window;
    const ari: AriState = {
      certId: input.certId,
      ...(kept ? { window: kept } : {}),
      ...(previous?.explanationUrl ? { explanationUrl: previous.explanationUrl } : {}),
      checkAt: ariRetryAfterFailure(now, failures),
      failures,
      problem: outcome.failure,
    };
    if (kept && input.previousRenewAt !== undefined) {
      return {
        ari,
        renewAt: input.previousRenewAt,
        rule: 'ari-suggested-window',
        windowMoved: false,
        detail: `renewal information check failed (${outcome.failure}); keeping the window known before`,
      };
    }
    return keepLifetimeRule(`renewal information check failed: ${outcome.failure}`, ari);
  }
  const { answer } = outcome;
  const problem = windowProblem(answer.window, validity);
  if (problem) {
    return keepLifetimeRule(problem, {
      certId: input.certId,
      checkAt: nextAriCheck(now, answer.retryAfterMs),
      failures: 0,
      problem,
    });
  }
  const ari: AriState = {
    certId: input.certId,
    window: { start: answer.window.start, end: answer.window.end },
    ...(answer.explanationUrl ? { explanationUrl: answer.explanationUrl } : {}),
    checkAt: nextAriCheck(now, answer.retryAfterMs),
    failures: 0,
  };
  const unchanged =
    previous?.window !== undefined &&
    previous.window.start === answer.window.start &&
    previous.window.end === answer.window.end &&
    input.previousRenewAt !== undefined;
  if (unchanged && input.previousRenewAt !== undefined) {
    return {
      ari,
      renewAt: input.previousRenewAt,
      rule: 'ari-suggested-window',
      windowMoved: false,
      detail: 'suggested window unchanged',
    };
  }
  const latest = latestAriRenewal(validity);
  const end = Math.min(answer.window.end, latest);
  const renewAt = Math.floor(answer.window.start + input.random() * (end - answer.window.start));
  return {
    ari,
    renewAt,
    rule: 'ari-suggested-window',
    windowMoved: true,
    detail:
      answer.window.end <= now
        ? 'the suggested window is in the past: renew now'
        : `suggested window ${new Date(answer.window.start).toISOString()} .. ${new Date(answer.window.end).toISOString()}`,
  };
}
