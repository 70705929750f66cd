/**
 * STEK exports for the servers that consume them (pure; bytes in, bytes out). Every
 * exporter takes the ring and `now`: which key encrypts is a function of time
 * (`encryptingKey`), so every host that exports the same ring at the same instant
 * writes the same bytes, and a host one ring version behind still agrees.
 *
 * Byte layouts (stored key: name N[16], HMAC secret H[32], AES-256 key A[32]):
 *
 * - nginx `ssl_session_ticket_key` (80-byte files): N[0..16] | H[0..32] | A[0..32].
 *   One file per key. nginx encrypts with the FIRST `ssl_session_ticket_key` directive
 *   and only decrypts with the others, so the files are listed current first, then the
 *   upcoming key(s), then the retained ones newest first. File names carry the key's
 *   serial (`stek-<serial>.key`), so a key's file never changes content.
 *
 * - HAProxy `tls-ticket-keys` (80-byte keys, one base64 line each):
 *   N[0..16] | A[0..32] | H[0..32] (AES before HMAC, unlike nginx).
 *   HAProxy's configuration manual ("tls-ticket-keys <keyfile>", bind options, 5.1)
 *   says the keys are 48 or 80 bytes, base64, one per line; that it uses the last
 *   TLS_TICKETS_NO keys (3 by default) and at least that many must be present; and
 *   that the penultimate key encrypts while the others only decrypt, so rotation means
 *   appending a new key. https://docs.haproxy.org/2.8/configuration.html#5.1-tls-ticket-keys
 *   Lines are therefore oldest first, current second-to-last, next last. When the ring
 *   has no upcoming key (rotation stalled), the current line is repeated as the last
 *   line so that it stays the encrypting one; when fewer than 3 lines result, the
 *   oldest line is repeated at the top (duplicates only decrypt the same tickets).
 *
 * - Go `tls.Config.SetSessionTicketKeys([][32]byte)`: the first key encrypts, all
 *   decrypt; Go derives its own name/AES/HMAC keys from each 32-byte seed (SHA-512).
 *   Seed = the stored AES-256 key A[0..32] (deterministic; tickets are not shared
 *   between Go and other servers anyway). File: a JSON array of standard base64 strings
 *   (current first, then upcoming, then retained newest first), one line, ending "\n".
 *   Decode with json.Unmarshal into []string and base64.StdEncoding.
 *
 * - Node `tls.Server` `ticketKeys` / `server.setTicketKeys(buf)`: exactly 48 bytes =
 *   N[0..16] | H[0..16] | A[0..16] (Node keeps three 16-byte keys: name, HMAC-SHA256
 *   secret, AES-128-CBC key, in that order). Node holds ONE key, which both encrypts and
 *   decrypts: there are no decrypt-only keys. Only the key encrypting at `now` is
 *   exported, so a Node host can resume only tickets issued under the current key; a
 *   host must re-export and call `setTicketKeys` when the encrypting key changes (every
 *   period, at `encryptsFrom` of the next key). Around each switch, for up to one pull
 *   interval, hosts on different keys fall back to full handshakes (no error). Prefer
 *   a front end that takes several keys (nginx, HAProxy, Go) where that matters.
 *
 * - `json`: the stored ring document (`encodeRing`: base64 fields, every instant) plus
 *   `"encryptingSerial"` at `now`, for anything else.
 */
import {
  encodeRing,
  encryptingKey,
  retainedKeys,
  type StekKey,
  type StekRing,
  toBase64,
  upcomingKeys,
} from './stek-ring.js';
import type { Instant } from './time.js';

export const STEK_EXPORT_FORMATS = ['nginx', 'haproxy', 'go', 'node', 'json'] as const;
export type StekExportFormat = (typeof STEK_EXPORT_FORMATS)[number];

export function isStekExportFormat(value: string): value is StekExportFormat {
  return (STEK_EXPORT_FORMATS as readonly string[]).includes(value);
}

/** Bytes of the exports. */
export const NGINX_KEY_BYTES = 80;
export const HAPROXY_KEY_BYTES = 80;
export const GO_KEY_BYTES = 32;
export const NODE_TICKET_KEYS_BYTES = 48;
/** HAProxy's default TLS_TICKETS_NO: the keys it reads from the end of the file. */
export const HAPROXY_TICKETS_NO = 3;

export class StekExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StekExportError';
  }
}

/**
 * Keys in "config order": the encrypting key, then upcoming keys (soonest first), then
 * retained keys (newest first). Throws when no key encrypts at `now`.
 */
export function keysInConfigOrder(ring: StekRing, now: Instant): StekKey[] {
  const current = requireEncrypting(ring, now);
  const upcoming = upcomingKeys(ring, now).reverse();
  return [current, ...upcoming, ...retainedKeys(ring, now)];
}

export interface NginxKeyFile {
  fileName: string;
  bytes: Uint8Array;
}

export interface NginxExport {
  /** Files in config order: the first one encrypts. */
  files: NginxKeyFile[];
  /** `ssl_session_ticket_key <dir>/<file>;` lines in the same order. */
  configLines: string[];
}

/** 80-byte nginx key: name | HMAC | AES. */
export function nginxKeyBytes(key: StekKey): Uint8Array {
  return concat(key.material.name(), key.material.hmacSecret(), key.material.aesKey());
}

/** The nginx key files and directives; `directory` prefixes the paths in the directives. */
export function exportNginx(ring: StekRing, now: Instant, directory: string): NginxExport {
  const files = keysInConfigOrder(ring, now).map((key) => ({
    fileName: nginxFileName(key),
    bytes: nginxKeyBytes(key),
  }));
  const prefix = directory.endsWith('/') ? directory : `${directory}/`;
  return {
    files,
    configLines: files.map((file) => `ssl_session_ticket_key ${prefix}${file.fileName};`),
  };
}

export function nginxFileName(key: StekKey): string {
  return `stek-${key.serial}.key`;
}

/** 80-byte HAProxy key: name | AES | HMAC. */
export function haproxyKeyBytes(key: StekKey): Uint8Array {
  return concat(key.material.name(), key.material.aesKey(), key.material.hmacSecret());
}

/** The `tls-ticket-keys` file text: base64 lines, oldest first, current penultimate. */
export function exportHaproxy(ring: StekRing, now: Instant): string {
  const current = requireEncrypting(ring, now);
  const retained = retainedKeys(ring, now).reverse();
  const next = upcomingKeys(ring, now).at(-1) ?? current;
  const lines = [...retained, current, next].map((key) => toBase64(haproxyKeyBytes(key)));
  while (lines.length < HAPROXY_TICKETS_NO) lines.unshift(lines[0] as string);
  return `${lines.join('\n')}\n`;
}

/** The 32-byte Go seed of a key: its AES-256 key. */
export function goKeyBytes(key: StekKey): Uint8Array {
  return key.material.aesKey();
}

/** JSON array of base64 32-byte keys, the encrypting one first. */
export function exportGo(ring: StekRing, now: Instant): string {
  const keys = keysInConfigOrder(ring, now).map((key) => toBase64(goKeyBytes(key)));
  return `${JSON.stringify(keys)}\n`;
}

/** The 48-byte Node `ticketKeys` of the key encrypting at `now`: name | HMAC16 | AES16. */
export function exportNode(ring: StekRing, now: Instant): Uint8Array {
  const key = requireEncrypting(ring, now);
  return concat(
    key.material.name(),
    key.material.hmacSecret().slice(0, 16),
    key.material.aesKey().slice(0, 16),
  );
}

/** The stored ring document with the serial of the key encrypting at `now`. */
export function exportJson(ring: StekRing, now: Instant): string {
  const current = requireEncrypting(ring, now);
  const document = JSON.parse(encodeRing(ring)) as Record<string, unknown>;
  return `${JSON.stringify({ ...document, encryptingSerial: current.serial }, null, 2)}\n`;
}

function requireEncrypting(ring: StekRing, now: Instant): StekKey {
  const key = encryptingKey(ring, now);
  if (!key) {
    throw new StekExportError(
      ring.keys.length === 0
        ? 'the STEK ring is empty: run the rotation first'
        : 'no key of the STEK ring encrypts yet at this time',
    );
  }
  return key;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
