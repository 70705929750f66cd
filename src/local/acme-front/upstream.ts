import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';

/**
 * Forwarding to an ACME server (pebble) behind an HTTPS reverse proxy on loopback, shared
 * by the ACME front (src/local/acme-front.ts) and the fault proxy of the drills.
 *
 * Every absolute URL of the upstream's origin in an answer (bodies of JSON, text and PEM
 * types; every header, `Location` and `Link` among them) is rewritten to the proxy's
 * origin, so that every ACME request of the client comes back through the proxy. Signed
 * POSTs keep the client's `Host` (the upstream checks the JWS `url` against
 * https://<Host><path>, and the client signed the proxy's URL); unsigned GET/HEAD go with
 * the upstream's own `Host`, so the directory comes back with the upstream's origin and
 * is rewritten like everything else.
 */

export interface ForwardedAnswer {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'proxy-connection',
]);

export interface Upstream {
  /** The upstream directory URL. */
  readonly directory: URL;
  /** How many absolute upstream URLs were rewritten in bodies and headers. */
  readonly rewrites: number;
  /** Sets the proxy's origin (`https://127.0.0.1:<port>`), once it listens. */
  setOrigin(origin: string): void;
  /** The upstream's origin in `text` replaced by the proxy's. */
  rewrite(text: string): string;
  /** Forwards one request and reads the whole answer, with URLs rewritten. */
  forward(req: IncomingMessage, body: Buffer): Promise<ForwardedAnswer>;
  /** A fresh nonce from the upstream's newNonce (HEAD), or undefined when it fails. */
  freshNonce(): Promise<string | undefined>;
  /** The upstream directory as the upstream serves it (not rewritten). */
  fetchDirectory(): Promise<Record<string, unknown>>;
  destroy(): void;
}

export function readBody(req: IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.destroy(new Error(`request body over ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The value of header `name` (any case) in an answer's header list. */
export function headerOf(answer: ForwardedAnswer, name: string): string | undefined {
  const lower = name.toLowerCase();
  return answer.headers.find(([key]) => key.toLowerCase() === lower)?.[1];
}

export function createUpstream(directoryUrl: string, caPem: string): Upstream {
  const directory = new URL(directoryUrl);
  const upstreamOrigin = directory.origin;
  const upstreamHost = directory.host;
  const agent = new Agent({ ca: caPem, keepAlive: true });
  let origin = '';
  let rewrites = 0;
  let noncePath: string | undefined;

  const rewrite = (text: string): string => {
    if (!text.includes(upstreamOrigin)) return text;
    const parts = text.split(upstreamOrigin);
    rewrites += parts.length - 1;
    return parts.join(origin);
  };

  const simpleRequest = (
    method: string,
    path: string,
    timeoutMs: number,
  ): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: directory.hostname,
          port: directory.port,
          method,
          path,
          headers: { host: upstreamHost },
          agent,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`upstream ${method} ${path} timed out`)));
      req.on('error', reject);
      req.end();
    });

  return {
    directory,
    get rewrites() {
      return rewrites;
    },
    setOrigin(value) {
      origin = value;
    },
    rewrite,
    forward(req, body) {
      return new Promise((resolve, reject) => {
        const method = req.method ?? 'GET';
        const headers: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (value === undefined || HOP_BY_HOP.has(name)) continue;
          headers[name] = value;
        }
        // Signed POSTs must keep the Host their JWS `url` names; the rest go as upstream's own.
        if (method !== 'POST') headers.host = upstreamHost;
        if (body.length > 0) headers['content-length'] = String(body.length);
        const upstream = httpsRequest(
          {
            host: directory.hostname,
            port: directory.port,
            method,
            path: req.url ?? '/',
            headers,
            agent,
            timeout: 30_000,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('error', reject);
            res.on('end', () => {
              let answer = Buffer.concat(chunks);
              const type = String(res.headers['content-type'] ?? '');
              if (/json|text|pem/i.test(type) && answer.length > 0) {
                answer = Buffer.from(rewrite(answer.toString('utf8')), 'utf8');
              }
              const out: Array<[string, string]> = [];
              for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
                const name = res.rawHeaders[i] ?? '';
                const value = res.rawHeaders[i + 1] ?? '';
                if (HOP_BY_HOP.has(name.toLowerCase())) continue;
                out.push([name, rewrite(value)]);
              }
              resolve({ status: res.statusCode ?? 502, headers: out, body: answer });
            });
          },
        );
        upstream.on('timeout', () =>
          upstream.destroy(new Error('the upstream CA did not answer in 30 s')),
        );
        upstream.on('error', reject);
        upstream.end(body.length > 0 ? body : undefined);
      });
    },
    async freshNonce() {
      if (!noncePath) return undefined;
      try {
        const { headers } = await simpleRequest('HEAD', noncePath, 10_000);
        const nonce = headers['replay-nonce'];
        return typeof nonce === 'string' ? nonce : undefined;
      } catch {
        return undefined;
      }
    },
    async fetchDirectory() {
      const { body } = await simpleRequest('GET', directory.pathname, 10_000);
      const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      if (typeof parsed.newNonce === 'string') noncePath = new URL(parsed.newNonce).pathname;
      return parsed;
    },
    destroy() {
      agent.destroy();
    },
  };
}

/** Writes a forwarded (or made-up) answer, unless the client is gone. */
export function sendAnswer(res: ServerResponse, answer: ForwardedAnswer): void {
  if (res.destroyed || res.writableEnded) return;
  const flat: string[] = [];
  for (const [name, value] of answer.headers) flat.push(name, value);
  flat.push('Content-Length', String(answer.body.length));
  res.writeHead(answer.status, flat);
  res.end(answer.body);
}
