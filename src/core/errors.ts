/**
 * The small error set every adapter translates into. Nothing above the adapters looks
 * at SDK or HTTP error types; it looks at `kind`.
 *
 * - `permanent`: cannot heal by waiting (name not allowed, CA rejects the identifier,
 *   CAA forbids). The record becomes `invalid` and waits for a change.
 * - `transient`: a CA or DNS problem that may heal; counts as a certificate failure and
 *   backs off.
 * - `rate-limited`: the CA asked us to slow down; counts as a failure, and its
 *   Retry-After wins when longer than the backoff table.
 * - `infrastructure`: our own storage or cloud API was throttled or unavailable, or
 *   holds something the whole deployment depends on in a broken state (the ACME account
 *   key secret). Not the certificate's fault: retried later, never counted against it.
 * - `conflict`: the record changed under us (lease lost, version moved on). Someone
 *   else owns the work now; drop it.
 * - `not-found`: the thing asked for does not exist.
 */
export type ErrorKind =
  | 'permanent'
  | 'transient'
  | 'rate-limited'
  | 'infrastructure'
  | 'conflict'
  | 'not-found';

export interface CertloopErrorOptions {
  /** How long the far side asked us to wait, if it said. */
  retryAfterMs?: number;
  /** Which dependency failed, for logs and metrics: 'ca', 'dns', 'records', 'secrets'. */
  source?: string;
  /** The far side's short problem name when it gave one (an ACME problem type such as `alreadyReplaced`). */
  problem?: string;
  /**
   * The failure is that an issuer's ACME account could not be set up (the CA refused the
   * External Account Binding, the HMAC key could not be read): every record of that
   * issuer waits for a person to fix the issuer's configuration.
   */
  accountSetup?: boolean;
  cause?: unknown;
}

export class CertloopError extends Error {
  readonly kind: ErrorKind;
  readonly retryAfterMs: number | undefined;
  readonly source: string | undefined;
  readonly problem: string | undefined;
  readonly accountSetup: boolean;

  constructor(kind: ErrorKind, message: string, options: CertloopErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CertloopError';
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs;
    this.source = options.source;
    this.problem = options.problem;
    this.accountSetup = options.accountSetup === true;
  }

  /** True for failures that count against the certificate's backoff. */
  get countsAsFailure(): boolean {
    return this.kind === 'transient' || this.kind === 'rate-limited';
  }
}

/** Any thrown value as a CertloopError; unknown errors are treated as transient. */
export function asCertloopError(error: unknown, source?: string): CertloopError {
  if (error instanceof CertloopError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CertloopError('transient', message, { source, cause: error });
}
