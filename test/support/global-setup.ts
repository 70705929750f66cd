import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Starts each run with an empty log capture folder, so the audit reads only this run. */
export default function setup(): void {
  const dir = join(process.cwd(), 'test', '.logs');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
