import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RegistrationSource } from '../../src/ports/registration-source.js';

export interface RegistrationSourceFixture {
  source: RegistrationSource;
  /** Creates a secret with these tags; returns its id as the source will list it. */
  createSecret(name: string, tags: Record<string, string>): Promise<string>;
  teardown(): Promise<void>;
}

/** The RegistrationSource contract (src/ports/registration-source.ts). */
export function describeRegistrationSourceContract(
  name: string,
  setup: () => Promise<RegistrationSourceFixture>,
): void {
  describe(`RegistrationSource contract: ${name}`, () => {
    let fixture: RegistrationSourceFixture;
    beforeEach(async () => {
      fixture = await setup();
    });
    afterEach(async () => {
      await fixture.teardown();
    });

    async function listed() {
      const out: Array<{ id: string; tags: Record<string, string> }> = [];
      for await (const secret of fixture.source.listRegistered()) out.push(secret);
      return out;
    }

    it('lists every secret carrying certloop:domains, once, with all its tags', async () => {
      const a = await fixture.createSecret('tls-a', {
        'certloop:domains': 'a.example.com',
        'certloop:key': 'rsa-2048',
        team: 'web',
      });
      const b = await fixture.createSecret('tls-b', { 'certloop:domains': 'b.example.com' });
      const found = await listed();
      expect(found.map((s) => s.id).sort()).toEqual([a, b].sort());
      expect(found.find((s) => s.id === a)?.tags).toEqual({
        'certloop:domains': 'a.example.com',
        'certloop:key': 'rsa-2048',
        team: 'web',
      });
    });

    it('never lists a secret without certloop:domains, even one with other certloop tags', async () => {
      await fixture.createSecret('db', { team: 'db' });
      await fixture.createSecret('half', { 'certloop:wildcards': 'example.com' });
      await fixture.createSecret('look-alike', { 'certloop:domains-old': 'x.example.com' });
      expect(await listed()).toEqual([]);
    });

    it('pages through many secrets', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 23; i++)
        ids.push(
          await fixture.createSecret(`many-${i}`, { 'certloop:domains': `m${i}.example.com` }),
        );
      expect((await listed()).map((s) => s.id).sort()).toEqual(ids.sort());
    });
  });
}
