import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import type { FrontCertificate, FrontOrder, WindowMove } from './ledger.js';
import { RENEWAL_INFO_FAULTS, type RenewalInfoFaultSetting } from './renewal-info.js';
import { readBody } from './upstream.js';

/**
 * The front's management API, plain HTTP on 127.0.0.1 only:
 * - `POST /windows` `{"serials": [hex, any case, ':' allowed], "window": {"start": ISO,
 *   "end": ISO} | "past" | "later"}` -> `{"moved": [...], "unknown": [...]}`;
 * - `POST /renewal-info-fault` `{"fault": "none" | "5xx" | "404" | "timeout" |
 *   "malformed-json" | "end-before-start" | "years-away", "count"?: n}` -> the setting;
 * - `GET /certificates`, `GET /orders`: the front's logs as JSON.
 * Bad input gets 400 with a message naming what was wrong.
 */

export interface ManagementOperations {
  certificates(): FrontCertificate[];
  orders(): FrontOrder[];
  moveWindows(request: { serials: string[]; window: WindowMove }): {
    moved: string[];
    unknown: string[];
  };
  setRenewalInfoFault(setting: RenewalInfoFaultSetting): RenewalInfoFaultSetting;
}

const isoInstant = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO 8601 date-time');

const explicitWindowSchema = z
  .object({ start: isoInstant, end: isoInstant })
  .refine((window) => Date.parse(window.start) < Date.parse(window.end), {
    message: 'window.start must be before window.end',
  });

/** A window move from JSON: "past", "later" or {start, end}; throws naming what is wrong. */
export function parseWindowMove(input: unknown): WindowMove {
  if (input === 'past' || input === 'later') return input;
  const parsed = explicitWindowSchema.safeParse(input);
  if (!parsed.success) {
    throw new TypeError(
      `window must be "past", "later" or {"start": ISO, "end": ISO}: ${issues(parsed.error, 'window')}`,
    );
  }
  return {
    start: new Date(Date.parse(parsed.data.start)).toISOString(),
    end: new Date(Date.parse(parsed.data.end)).toISOString(),
  };
}

export const moveWindowsSchema = z.object({
  serials: z.array(z.string().regex(/^[0-9a-fA-F:]+$/, 'serials are hexadecimal')).min(1),
  window: z.unknown(),
});

export const renewalInfoFaultSchema = z.object({
  fault: z.enum(RENEWAL_INFO_FAULTS),
  count: z.number().int().min(1).optional(),
});

function send(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value, null, 2);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function issues(error: z.ZodError, prefix?: string): string {
  return error.issues
    .map((issue) => {
      const path = [...(prefix ? [prefix] : []), ...issue.path].join('.');
      return `${path || '(body)'}: ${issue.message}`;
    })
    .join('; ');
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  operations: ManagementOperations,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  if (method === 'GET' && path === '/certificates')
    return send(res, 200, operations.certificates());
  if (method === 'GET' && path === '/orders') return send(res, 200, operations.orders());
  if (method === 'POST' && (path === '/windows' || path === '/renewal-info-fault')) {
    let input: unknown;
    try {
      input = JSON.parse((await readBody(req, 1 << 20)).toString('utf8'));
    } catch {
      return send(res, 400, { error: 'the body is not JSON' });
    }
    if (path === '/windows') {
      const parsed = moveWindowsSchema.safeParse(input);
      if (!parsed.success) return send(res, 400, { error: issues(parsed.error) });
      let window: WindowMove;
      try {
        window = parseWindowMove(parsed.data.window);
      } catch (error) {
        return send(res, 400, { error: (error as Error).message });
      }
      return send(res, 200, operations.moveWindows({ serials: parsed.data.serials, window }));
    }
    const parsed = renewalInfoFaultSchema.safeParse(input);
    if (!parsed.success) return send(res, 400, { error: issues(parsed.error) });
    return send(res, 200, operations.setRenewalInfoFault(parsed.data));
  }
  send(res, 404, {
    error: `no ${method} ${path}; try GET /certificates, GET /orders, POST /windows, POST /renewal-info-fault`,
  });
}

export async function startManagementServer(
  operations: ManagementOperations,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    handle(req, res, operations).catch((error: unknown) => {
      if (!res.headersSent)
        send(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
