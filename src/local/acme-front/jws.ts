/**
 * The few fields the ACME front reads from a flattened JWS request body (RFC 8555
 * section 6.2): the protected header's `kid` (the account URL) and, of a newOrder
 * payload, the identifiers, `profile` and `replaces`. Protected header and payload are
 * base64url JSON, readable without the account key; the signature is not checked here
 * (the upstream CA checks it). Nothing else of the body is kept.
 */

export interface NewOrderFields {
  identifiers: Array<{ type: string; value: string }>;
  profile?: string;
  replaces?: string;
}

function decodeSegment(segment: unknown): Record<string, unknown> | undefined {
  if (typeof segment !== 'string' || segment === '') return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function parseJws(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The account URL (`kid`) of a signed request, if it names one (newAccount uses `jwk`). */
export function jwsKid(body: Buffer): string | undefined {
  const kid = decodeSegment(parseJws(body)?.protected)?.kid;
  return typeof kid === 'string' ? kid : undefined;
}

/** The newOrder fields of a signed newOrder request, or undefined when unreadable. */
export function newOrderFields(body: Buffer): NewOrderFields | undefined {
  const payload = decodeSegment(parseJws(body)?.payload);
  if (!payload) return undefined;
  const identifiers = Array.isArray(payload.identifiers)
    ? payload.identifiers.flatMap((entry: unknown) => {
        const { type, value } = (entry ?? {}) as { type?: unknown; value?: unknown };
        return typeof type === 'string' && typeof value === 'string' ? [{ type, value }] : [];
      })
    : [];
  return {
    identifiers,
    ...(typeof payload.profile === 'string' ? { profile: payload.profile } : {}),
    ...(typeof payload.replaces === 'string' ? { replaces: payload.replaces } : {}),
  };
}
