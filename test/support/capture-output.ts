// Setup file for the suite: every byte a test process writes to stdout/stderr (the
// Powertools logger writes JSON lines there) is appended to test/.logs/, where the
// audit project reads it after the suite and fails on any key material. Set
// CERTLOOP_TEST_VERBOSE=1 to also see the lines on the terminal.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const LOG_DIR = join(process.cwd(), 'test', '.logs');
const verbose = process.env.CERTLOOP_TEST_VERBOSE === '1';
const file = join(LOG_DIR, `worker-${process.pid}.log`);
mkdirSync(LOG_DIR, { recursive: true });

type Write = typeof process.stdout.write;
const marker = Symbol.for('certloop.capture');

function capture(stream: NodeJS.WriteStream): void {
  const tagged = stream as NodeJS.WriteStream & { [marker]?: boolean };
  if (tagged[marker]) return;
  tagged[marker] = true;
  const original = stream.write.bind(stream) as Write;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    appendFileSync(file, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array));
    if (verbose) return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as Write;
}

capture(process.stdout);
capture(process.stderr);
