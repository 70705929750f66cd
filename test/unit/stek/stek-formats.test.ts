import { describe, expect, it } from 'vitest';
import {
  exportGo,
  exportHaproxy,
  exportJson,
  exportNginx,
  exportNode,
  keysInConfigOrder,
  StekExportError,
} from '../../../src/core/stek-formats.js';
import {
  DEFAULT_STEK_POLICY,
  EMPTY_RING,
  fromBase64,
  type RandomBytes,
  rotateRing,
  type StekRing,
} from '../../../src/core/stek-ring.js';

const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const P = DEFAULT_STEK_POLICY.periodMs;

/**
 * Known keys: call n of randomBytes fills its buffer with one byte value, so key k's
 * name is all 0xk1, its HMAC all 0xk2 and its AES key all 0xk3 (k = serial 1..9).
 */
function knownBytes(): RandomBytes {
  let call = 0;
  return (length) => {
    const serial = Math.floor(call / 3) + 1;
    const field = (call % 3) + 1;
    call += 1;
    return new Uint8Array(length).fill(serial * 16 + field);
  };
}

/** Generation 3 at T0 + 2P + 1h: keys 4 (next), 3 (current), 2 (previous), 1 (older). */
function ringAt(rotations: number): StekRing {
  const random = knownBytes();
  let ring = rotateRing(EMPTY_RING, T0, DEFAULT_STEK_POLICY, random).ring;
  for (let i = 1; i <= rotations; i += 1) {
    ring = rotateRing(ring, T0 + i * P, DEFAULT_STEK_POLICY, random).ring;
  }
  return ring;
}

const ring = ringAt(2);
const NOW = T0 + 2 * P + 3_600_000;

function filled(value: number, length: number): number[] {
  return Array.from({ length }, () => value);
}

describe('config order', () => {
  it('is current, then next, then retained newest first', () => {
    expect(ring.keys.map((key) => key.serial)).toEqual([4, 3, 2, 1]);
    expect(keysInConfigOrder(ring, NOW).map((key) => key.serial)).toEqual([3, 4, 2, 1]);
  });
});

describe('nginx ssl_session_ticket_key files', () => {
  const exported = exportNginx(ring, NOW, '/etc/nginx/stek');

  it('are 80 bytes: name[0..16] | HMAC[16..48] | AES[48..80]', () => {
    const first = exported.files[0];
    expect(first?.fileName).toBe('stek-3.key');
    expect(first?.bytes.length).toBe(80);
    expect([...(first?.bytes.slice(0, 16) ?? [])]).toEqual(filled(0x31, 16));
    expect([...(first?.bytes.slice(16, 48) ?? [])]).toEqual(filled(0x32, 32));
    expect([...(first?.bytes.slice(48, 80) ?? [])]).toEqual(filled(0x33, 32));
  });

  it('list the encrypting key first in files and directives', () => {
    expect(exported.files.map((file) => file.fileName)).toEqual([
      'stek-3.key',
      'stek-4.key',
      'stek-2.key',
      'stek-1.key',
    ]);
    expect(exported.configLines).toEqual([
      'ssl_session_ticket_key /etc/nginx/stek/stek-3.key;',
      'ssl_session_ticket_key /etc/nginx/stek/stek-4.key;',
      'ssl_session_ticket_key /etc/nginx/stek/stek-2.key;',
      'ssl_session_ticket_key /etc/nginx/stek/stek-1.key;',
    ]);
  });
});

describe('HAProxy tls-ticket-keys', () => {
  it('is base64 lines of name | AES | HMAC, oldest first, current second-to-last, next last', () => {
    const text = exportHaproxy(ring, NOW);
    expect(text.endsWith('\n')).toBe(true);
    const lines = text
      .trimEnd()
      .split('\n')
      .map((line) => fromBase64(line) as Uint8Array);
    expect(lines.map((bytes) => bytes[0])).toEqual([0x11, 0x21, 0x31, 0x41]);
    const current = lines[2] as Uint8Array;
    expect(current.length).toBe(80);
    expect([...current.slice(0, 16)]).toEqual(filled(0x31, 16));
    expect([...current.slice(16, 48)]).toEqual(filled(0x33, 32)); // AES
    expect([...current.slice(48, 80)]).toEqual(filled(0x32, 32)); // HMAC
  });

  it('pads to three lines and keeps the current key penultimate on a fresh ring', () => {
    const fresh = ringAt(0);
    const lines = exportHaproxy(fresh, T0).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.map((line) => fromBase64(line)?.[0])).toEqual([0x11, 0x11, 0x21]);
  });

  it('repeats the current key last when no next key exists (stalled rotation)', () => {
    const fresh = ringAt(0);
    const lines = exportHaproxy(fresh, T0 + P + 3_600_000)
      .trimEnd()
      .split('\n');
    expect(lines.map((line) => fromBase64(line)?.[0])).toEqual([0x11, 0x21, 0x21]);
  });
});

describe('Go SetSessionTicketKeys', () => {
  it('is a JSON array of base64 32-byte keys (the AES key), encrypting one first', () => {
    const keys = JSON.parse(exportGo(ring, NOW)) as string[];
    expect(keys.map((key) => fromBase64(key)?.length)).toEqual([32, 32, 32, 32]);
    expect(keys.map((key) => fromBase64(key)?.[0])).toEqual([0x33, 0x43, 0x23, 0x13]);
  });
});

describe('Node ticketKeys', () => {
  it('is 48 bytes of the encrypting key: name | HMAC[0..16] | AES[0..16]', () => {
    const bytes = exportNode(ring, NOW);
    expect(bytes.length).toBe(48);
    expect([...bytes.slice(0, 16)]).toEqual(filled(0x31, 16));
    expect([...bytes.slice(16, 32)]).toEqual(filled(0x32, 16));
    expect([...bytes.slice(32, 48)]).toEqual(filled(0x33, 16));
  });

  it('switches to the next key exactly at its encryptsFrom', () => {
    expect(exportNode(ring, T0 + 3 * P - 1)[0]).toBe(0x31);
    expect(exportNode(ring, T0 + 3 * P)[0]).toBe(0x41);
  });
});

describe('raw JSON', () => {
  it('is the stored document plus the encrypting serial', () => {
    const document = JSON.parse(exportJson(ring, NOW));
    expect(document.format).toBe(1);
    expect(document.encryptingSerial).toBe(3);
    expect(document.keys[1]).toMatchObject({ serial: 3, encryptsFrom: T0 + 2 * P });
    expect([...(fromBase64(document.keys[1].hmacSecret) ?? [])]).toEqual(filled(0x32, 32));
  });
});

describe('every exporter', () => {
  it('refuses an empty ring with a message that holds no bytes', () => {
    for (const run of [
      () => exportNginx(EMPTY_RING, NOW, '/x'),
      () => exportHaproxy(EMPTY_RING, NOW),
      () => exportGo(EMPTY_RING, NOW),
      () => exportNode(EMPTY_RING, NOW),
      () => exportJson(EMPTY_RING, NOW),
    ]) {
      expect(run).toThrowError(StekExportError);
    }
  });

  it('is deterministic: the same ring and instant give the same bytes', () => {
    const again = ringAt(2);
    expect(exportHaproxy(again, NOW)).toBe(exportHaproxy(ring, NOW));
    expect(exportGo(again, NOW)).toBe(exportGo(ring, NOW));
    expect([...exportNode(again, NOW)]).toEqual([...exportNode(ring, NOW)]);
  });
});
