import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyType } from '../../src/core/key-type.js';
import { type EngineHarness, startEngineHarness } from '../support/engine-harness.js';
import { engineTick } from '../support/engine-tick.js';
import { keyFingerprints } from '../support/key-material-patterns.js';

interface Wanted {
  id: string;
  domains: string[];
  wildcards: string[];
  keyType: KeyType;
  expected: string[];
}

// 21 certificates: three key types times three shapes (one name, several names,
// apex + wildcard), seven of each key type.
const shapes = (i: number): Pick<Wanted, 'domains' | 'wildcards' | 'expected'> => {
  const base = `site${i}.example.test`;
  switch (i % 3) {
    case 0:
      return { domains: [base], wildcards: [], expected: [base] };
    case 1:
      return {
        domains: [base, `www.${base}`, `api.${base}`],
        wildcards: [],
        expected: [`api.${base}`, base, `www.${base}`],
      };
    default:
      return { domains: [base], wildcards: [base], expected: [`*.${base}`, base] };
  }
};
const keyTypes: KeyType[] = ['ec-p256', 'ec-p384', 'rsa-2048'];
const wanted: Wanted[] = Array.from({ length: 21 }, (_, i) => ({
  id: `cert-${String(i).padStart(2, '0')}`,
  keyType: keyTypes[Math.floor(i / 7)] as KeyType,
  ...shapes(i),
}));

function readPair(root: string, id: string, stage: 'current' | 'previous') {
  const dir = join(root, 'certs', id, stage);
  return {
    fullchain: readFileSync(join(dir, 'fullchain.pem'), 'utf8'),
    key: readFileSync(join(dir, 'privkey.pem'), 'utf8'),
  };
}

describe('the renewal engine on dynalite and pebble', () => {
  let h: EngineHarness;
  const serials = new Map<string, string>();
  const keysSeen: string[] = [];

  beforeAll(async () => {
    h = await startEngineHarness();
    for (const w of wanted)
      await h.register({
        id: w.id,
        domains: w.domains,
        wildcards: w.wildcards,
        keyType: w.keyType,
      });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('issues 21 certificates of mixed key types and shapes in one tick, each key matching its certificate and its names the request', async () => {
    const report = await engineTick(h.worker(), { batchSize: 50, maxRecords: 500 });
    expect(
      report.counts.issued,
      JSON.stringify(report.outcomes.filter((o) => o.outcome !== 'issued').slice(0, 3)),
    ).toBe(21);
    expect(h.orders.placed).toBe(21);

    for (const w of wanted) {
      const { fullchain, key } = readPair(h.secretsRoot, w.id, 'current');
      keysSeen.push(key);
      const leaf = new X509Certificate(fullchain);
      expect(leaf.checkPrivateKey(createPrivateKey(key))).toBe(true);
      const sans = (leaf.subjectAltName ?? '')
        .split(', ')
        .map((s) => s.replace('DNS:', ''))
        .sort();
      expect(sans).toEqual(w.expected);
      const privateKey = createPrivateKey(key);
      expect(privateKey.asymmetricKeyType).toBe(w.keyType.startsWith('ec') ? 'ec' : 'rsa');
      if (w.keyType !== 'rsa-2048') {
        expect(privateKey.asymmetricKeyDetails?.namedCurve).toBe(
          w.keyType === 'ec-p256' ? 'prime256v1' : 'secp384r1',
        );
      } else {
        expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
      }
      const record = await h.records.get(w.id);
      expect(record).toMatchObject({ status: 'active', failures: 0, domains: w.expected });
      expect(record?.current?.serial).toBe(leaf.serialNumber.toUpperCase());
      expect(record?.nextAttemptAt).toBe(record?.renewAt);
      expect(record?.lease).toBeUndefined();
      expect(record?.order).toBeUndefined();
      serials.set(w.id, leaf.serialNumber.toUpperCase());
    }
  });

  it('does nothing on the next ticks while no renewal time has come, and keeps the stored jitter', async () => {
    const before = await Promise.all(wanted.map((w) => h.records.get(w.id)));
    h.clock.advance(24 * 3600_000);
    const report = await engineTick(h.worker(), { batchSize: 50, maxRecords: 500 });
    expect(report.due).toBe(0);
    expect(h.orders.placed).toBe(21);
    const after = await Promise.all(wanted.map((w) => h.records.get(w.id)));
    expect(after.map((r) => [r?.renewAt, r?.renewJitter])).toEqual(
      before.map((r) => [r?.renewAt, r?.renewJitter]),
    );
    expect(new Set(after.map((r) => r?.renewJitter)).size).toBeGreaterThan(1);
  });

  it('renews each certificate exactly once when the clock passes renewAt; the new pair is current and the old one stays readable', async () => {
    const records = await Promise.all(wanted.map((w) => h.records.get(w.id)));
    const latest = Math.max(...records.map((r) => r?.renewAt ?? 0));
    h.clock.set(latest + 1);

    // pebble 2.4 stamps 5-year certificates with the real time while this clock has
    // jumped years ahead; a zero jitter for the renewal places every new renewAt at
    // 2/3 of a lifetime that starts after the old ones, so after this clock.
    const first = await engineTick(h.worker({ random: () => 0 }), {
      batchSize: 50,
      maxRecords: 500,
    });
    expect(
      first.counts.issued,
      JSON.stringify(first.outcomes.filter((o) => o.outcome !== 'issued').slice(0, 3)),
    ).toBe(21);
    expect(h.orders.placed).toBe(42);
    const second = await engineTick(h.worker(), { batchSize: 50, maxRecords: 500 });
    expect(second.due).toBe(0);
    expect(h.orders.placed).toBe(42);
    for (const count of h.orders.byDomains.values()) expect(count).toBe(2);

    for (const w of wanted) {
      const current = readPair(h.secretsRoot, w.id, 'current');
      const previous = readPair(h.secretsRoot, w.id, 'previous');
      keysSeen.push(current.key);
      const currentLeaf = new X509Certificate(current.fullchain);
      const previousLeaf = new X509Certificate(previous.fullchain);
      expect(previousLeaf.serialNumber.toUpperCase()).toBe(serials.get(w.id));
      expect(currentLeaf.serialNumber.toUpperCase()).not.toBe(serials.get(w.id));
      expect(currentLeaf.checkPrivateKey(createPrivateKey(current.key))).toBe(true);
      expect(previousLeaf.checkPrivateKey(createPrivateKey(previous.key))).toBe(true);
      expect(current.key).not.toBe(previous.key);
      const record = await h.records.get(w.id);
      expect(record?.current?.serial).toBe(currentLeaf.serialNumber.toUpperCase());
      expect(record?.renewAt).toBeGreaterThan(h.clock.now());
    }
  });

  it('printed no fragment of any issued private key in its logs', () => {
    const logDir = join(process.cwd(), 'test', '.logs');
    const text = readdirSync(logDir)
      .filter((name) => name.includes(String(process.pid)))
      .map((name) => readFileSync(join(logDir, name), 'utf8'))
      .join('\n');
    expect(text).toContain('certificate issued');
    const leaked = keysSeen.flatMap(keyFingerprints).filter((fragment) => text.includes(fragment));
    expect(leaked).toEqual([]);
  });
});
