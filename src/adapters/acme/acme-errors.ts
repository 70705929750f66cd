import { CertloopError, type ErrorKind } from '../../core/errors.js';

/**
 * Translation of what acme-client 5.4 throws into CertloopError.
 *
 * What the library throws, as read in its http.js / api.js / client.js / axios.js:
 * - Any ACME call whose HTTP status is not the expected one: a plain `Error` whose
 *   message is only the problem document's `detail` (type, status, subproblems and
 *   headers are dropped). To keep them, AcmeClientCa inspects every response on its own
 *   client's HTTP layer and throws `AcmeProblemError` (below) first.
 * - `badNonce` is retried by the library (5 times) before it throws that plain Error.
 * - `waitForValidStatus` on an invalid item: a plain `Error` whose message is the
 *   problem `detail` of the item's `error`, or the whole item as JSON (authorizations
 *   carry their error on the challenge); still pending after its backoff: the plain
 *   `Error('Operation is pending or processing')`.
 * - Network failures: an `AxiosError` (`isAxiosError`, `code` such as ECONNREFUSED or
 *   ECONNABORTED for a timeout) after the library's own retries.
 */

const ACME_ERROR_PREFIX = 'urn:ietf:params:acme:error:';
const MAX_DETAIL = 400;

/** Problem types that cannot heal by waiting: the CA refuses the identifier itself. */
const IDENTIFIER_REFUSALS = new Set([
  'rejectedIdentifier',
  'unsupportedIdentifier',
  'caa',
  // RFC-draft profiles: an unknown profile name does not heal by waiting either.
  'invalidProfile',
]);

export interface AcmeProblem {
  type?: string;
  detail?: string;
  status?: number;
  identifier?: { type?: string; value?: string };
  subproblems?: AcmeProblem[];
}

/** An ACME response with an error status, with everything the library would drop. */
export class AcmeProblemError extends Error {
  readonly httpStatus: number;
  readonly problem: AcmeProblem | undefined;
  readonly retryAfterMs: number | undefined;
  readonly url: string;

  constructor(
    url: string,
    httpStatus: number,
    problem: AcmeProblem | undefined,
    retryAfterMs?: number,
  ) {
    super(describeProblem(httpStatus, problem));
    this.name = 'AcmeProblemError';
    this.url = url;
    this.httpStatus = httpStatus;
    this.problem = problem;
    this.retryAfterMs = retryAfterMs;
  }
}

/** `urn:ietf:params:acme:error:caa` -> `caa`; other URIs are returned as they are. */
export function shortProblemType(type: string | undefined): string | undefined {
  if (type === undefined) return undefined;
  return type.startsWith(ACME_ERROR_PREFIX) ? type.slice(ACME_ERROR_PREFIX.length) : type;
}

/** A problem document from a response body, if it looks like one. */
export function asProblem(data: unknown): AcmeProblem | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const record = data as Record<string, unknown>;
  if (typeof record.type !== 'string' && typeof record.detail !== 'string') return undefined;
  return record as AcmeProblem;
}

/** Retry-After (delta seconds or HTTP date) in milliseconds from `nowMs`, if usable. */
export function parseRetryAfter(header: unknown, nowMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Keeps CA-provided text short and free of anything PEM-shaped. */
export function sanitize(text: string): string {
  const flat = text
    .replace(/-----BEGIN [^-]+-----[\s\S]*?(-----END [^-]+-----|$)/g, '[pem]')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > MAX_DETAIL ? `${flat.slice(0, MAX_DETAIL)}...` : flat;
}

function describeProblem(httpStatus: number, problem: AcmeProblem | undefined): string {
  if (!problem) return `HTTP ${httpStatus}`;
  const type = shortProblemType(problem.type) ?? 'error';
  let text = `${type} (HTTP ${httpStatus})`;
  if (problem.detail) text += `: ${sanitize(problem.detail)}`;
  const subs = (problem.subproblems ?? [])
    .map((sub) => {
      const who = sub.identifier?.value ? `${sub.identifier.value}: ` : '';
      return `${who}${shortProblemType(sub.type) ?? 'error'}${sub.detail ? ` ${sanitize(sub.detail)}` : ''}`;
    })
    .join('; ');
  return subs ? `${text} [${subs}]` : text;
}

/** Where a failure happened, for the message and for the mapping. */
export interface AcmeOperationContext {
  /** What we were doing, for the message: 'place order', 'finalize order', ... */
  operation: string;
  /** The request was about an order URL: HTTP 404 then means the order is gone. */
  orderUrl?: string;
  /** The request carried identifiers (newOrder): `malformed` then refers to them. */
  identifiers?: readonly string[];
}

/** The CertloopError kind for an ACME problem type (short form), whatever the request. */
export function kindForProblemType(type: string | undefined): ErrorKind {
  if (type === undefined) return 'transient';
  if (IDENTIFIER_REFUSALS.has(type)) return 'permanent';
  if (type === 'rateLimited') return 'rate-limited';
  return 'transient';
}

/**
 * `malformed` is permanent only when it is about the identifiers of a newOrder (a name
 * the CA cannot accept as written); a malformed JWS, `replaces` or CSR stays transient.
 */
function isMalformedIdentifier(problem: AcmeProblem, context: AcmeOperationContext): boolean {
  const identifiers = context.identifiers;
  if (identifiers === undefined || shortProblemType(problem.type) !== 'malformed') return false;
  if (problem.identifier?.value !== undefined) return true;
  const detail = problem.detail ?? '';
  // "Order included DNS identifier with ...", "Invalid identifiers requested", or the name.
  return (
    /\b(dns (type )?identifier|identifiers? requested|identifier value)/i.test(detail) ||
    identifiers.some((name) => detail.toLowerCase().includes(name.toLowerCase()))
  );
}

function kindForProblemError(error: AcmeProblemError, context: AcmeOperationContext): ErrorKind {
  const problem = error.problem;
  const type = shortProblemType(problem?.type);
  if (type === 'rateLimited' || error.httpStatus === 429) return 'rate-limited';
  if (error.httpStatus === 404 && context.orderUrl !== undefined) return 'not-found';
  if (!problem) return 'transient';
  const all = [problem, ...(problem.subproblems ?? [])];
  // A compound problem is as permanent as any identifier refusal inside it.
  const permanent = all.some(
    (item) =>
      kindForProblemType(shortProblemType(item.type)) === 'permanent' ||
      isMalformedIdentifier(item, context),
  );
  return permanent ? 'permanent' : 'transient';
}

interface AxiosLikeError {
  isAxiosError: true;
  code?: string;
  message: string;
}

function isAxiosLike(error: unknown): error is AxiosLikeError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { isAxiosError?: unknown }).isAxiosError === true
  );
}

/** Any error thrown while talking to the CA, as the port's CertloopError. */
export function translateAcmeError(error: unknown, context: AcmeOperationContext): CertloopError {
  if (error instanceof CertloopError) return error;
  const what = context.orderUrl ? `${context.operation} (${context.orderUrl})` : context.operation;

  if (error instanceof AcmeProblemError) {
    const kind = kindForProblemError(error, context);
    const subject =
      kind === 'not-found'
        ? `ACME order ${context.orderUrl} is unknown to the CA`
        : `ACME ${what} failed`;
    const problem = shortProblemType(error.problem?.type);
    return new CertloopError(kind, `${subject}: ${error.message}`, {
      source: 'ca',
      cause: error,
      ...(problem === undefined ? {} : { problem }),
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    });
  }

  if (isAxiosLike(error)) {
    const code = error.code ? `${error.code} ` : '';
    // The AxiosError holds the request config (JWS bodies, agents): keep it out of the chain.
    return new CertloopError(
      'transient',
      `ACME ${what} failed: ${code}${sanitize(error.message)}`,
      {
        source: 'ca',
      },
    );
  }

  const message = error instanceof Error ? error.message : String(error);
  return new CertloopError('transient', `ACME ${what} failed: ${sanitize(message)}`, {
    source: 'ca',
    cause: error,
  });
}

/** A failed DNS-01 validation of one identifier, from the challenge's problem. */
export function validationError(
  identifier: string,
  problem: AcmeProblem | undefined,
): CertloopError {
  const type = shortProblemType(problem?.type);
  const detail = problem?.detail ? `: ${sanitize(problem.detail)}` : '';
  return new CertloopError(
    kindForProblemType(type),
    `DNS-01 validation of ${identifier} failed: ${type ?? 'no error reported by the CA'}${detail}`,
    { source: 'ca' },
  );
}

const KIND_PRECEDENCE: ErrorKind[] = [
  'permanent',
  'rate-limited',
  'not-found',
  'transient',
  'infrastructure',
  'conflict',
];

/** Several failures of one batch as one error; the most binding kind wins. */
export function combineErrors(errors: CertloopError[]): CertloopError {
  const [first, ...rest] = errors;
  if (!first) throw new TypeError('combineErrors needs at least one error');
  if (rest.length === 0) return first;
  const kind =
    KIND_PRECEDENCE.find((candidate) => errors.some((error) => error.kind === candidate)) ??
    first.kind;
  const retryAfters = errors.flatMap((error) =>
    error.retryAfterMs === undefined ? [] : [error.retryAfterMs],
  );
  return new CertloopError(kind, errors.map((error) => error.message).join('; '), {
    source: 'ca',
    cause: errors,
    ...(retryAfters.length ? { retryAfterMs: Math.max(...retryAfters) } : {}),
  });
}
