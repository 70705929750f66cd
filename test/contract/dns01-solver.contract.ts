import { describe, expect, it } from 'vitest';
import { CertloopError } from '../../src/core/errors.js';
import type { Dns01Solver, TxtRecord } from '../../src/ports/dns01-solver.js';
import { uniqueLabel } from '../support/pebble.js';

export interface Dns01SolverSetup {
  solver: Dns01Solver;
  /** The TXT values served for `name` right now, read from the solver's real backend. */
  lookup(name: string): Promise<string[]>;
}

function txtName(): string {
  return `_acme-challenge.${uniqueLabel('dns')}.certloop.test`;
}

/** Values shaped like DNS-01 values (43 base64url characters), distinct per call. */
function txtValue(): string {
  const random = Array.from({ length: 43 }, () =>
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charAt(
      Math.floor(Math.random() * 64),
    ),
  );
  return random.join('');
}

const sorted = (values: string[]) => [...values].sort();

/** The Dns01Solver port contract (src/ports/dns01-solver.ts), for any implementation. */
export function dns01SolverContract(label: string, setup: () => Dns01SolverSetup): void {
  describe(`Dns01Solver contract: ${label}`, () => {
    it('serves several values of one name together, and values of several names', async () => {
      const { solver, lookup } = setup();
      const shared = txtName();
      const other = txtName();
      const [apexValue, wildcardValue, otherValue] = [txtValue(), txtValue(), txtValue()];
      const records: TxtRecord[] = [
        { name: shared, value: apexValue },
        { name: shared, value: wildcardValue },
        { name: other, value: otherValue },
      ];
      await solver.present(records);
      await solver.waitForPropagation(records);
      expect(sorted(await lookup(shared))).toEqual(sorted([apexValue, wildcardValue]));
      expect(await lookup(other)).toEqual([otherValue]);
      await solver.cleanup(records);
    });

    it('keeps values presented in an earlier batch when a later batch adds to the name', async () => {
      const { solver, lookup } = setup();
      const name = txtName();
      const first = { name, value: txtValue() };
      const second = { name, value: txtValue() };
      await solver.present([first]);
      await solver.present([second]);
      await solver.waitForPropagation([first, second]);
      expect(sorted(await lookup(name))).toEqual(sorted([first.value, second.value]));
      await solver.cleanup([first, second]);
    });

    it('cleanup removes exactly the given value and leaves the others of the name', async () => {
      const { solver, lookup } = setup();
      const name = txtName();
      const [gone, stays, alsoStays] = [txtValue(), txtValue(), txtValue()];
      await solver.present([
        { name, value: gone },
        { name, value: stays },
        { name, value: alsoStays },
      ]);
      await solver.cleanup([{ name, value: gone }]);
      expect(sorted(await lookup(name))).toEqual(sorted([stays, alsoStays]));
      await solver.cleanup([
        { name, value: stays },
        { name, value: alsoStays },
      ]);
      expect(await lookup(name)).toEqual([]);
    });

    it('cleanup of absent values is harmless', async () => {
      const { solver, lookup } = setup();
      const name = txtName();
      const kept = txtValue();
      await solver.present([{ name, value: kept }]);
      await expect(
        solver.cleanup([
          { name, value: txtValue() }, // never presented under this name
          { name: txtName(), value: txtValue() }, // a name never used at all
        ]),
      ).resolves.toBeUndefined();
      expect(await lookup(name)).toEqual([kept]);
      await solver.cleanup([{ name, value: kept }]);
      await expect(solver.cleanup([{ name, value: kept }])).resolves.toBeUndefined();
      expect(await lookup(name)).toEqual([]);
    });

    it('presenting a value twice is harmless: served once, and one cleanup removes it', async () => {
      const { solver, lookup } = setup();
      const name = txtName();
      const record = { name, value: txtValue() };
      await solver.present([record]);
      await solver.present([record, record]);
      await solver.waitForPropagation([record]);
      expect(await lookup(name)).toEqual([record.value]);
      await solver.cleanup([record]);
      expect(await lookup(name)).toEqual([]);
    });

    it('treats names case-insensitively', async () => {
      const { solver, lookup } = setup();
      const name = txtName();
      const record = { name: name.toUpperCase(), value: txtValue() };
      await solver.present([record]);
      await solver.waitForPropagation([{ name, value: record.value }]);
      expect(await lookup(name)).toEqual([record.value]);
      await solver.cleanup([{ name, value: record.value }]);
      expect(await lookup(name)).toEqual([]);
    });

    it('waitForPropagation fails with a transient CertloopError for a value never presented', async () => {
      const { solver } = setup();
      const name = txtName();
      const error = await solver.waitForPropagation([{ name, value: txtValue() }]).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(CertloopError);
      expect((error as CertloopError).kind).toBe('transient');
      expect((error as CertloopError).message).toContain(name);
    });
  });
}
