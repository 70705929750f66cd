import type { Dns01Solver, TxtRecord } from '../../src/ports/dns01-solver.js';

/**
 * moto's Route 53 stores records but serves no DNS, so pebble cannot see them. This
 * solver lets the real Route 53 adapter do its writes (and waits) and then repeats
 * them on pebble-challtestsrv, which pebble queries.
 */
export class MirroredDns01Solver implements Dns01Solver {
  constructor(
    readonly primary: Dns01Solver,
    readonly mirror: Dns01Solver,
  ) {}

  async present(records: TxtRecord[]): Promise<void> {
    await this.primary.present(records);
    await this.mirror.present(records);
  }

  async waitForPropagation(records: TxtRecord[]): Promise<void> {
    await this.primary.waitForPropagation(records);
    await this.mirror.waitForPropagation(records);
  }

  async cleanup(records: TxtRecord[]): Promise<void> {
    await this.primary.cleanup(records);
    await this.mirror.cleanup(records);
  }
}
