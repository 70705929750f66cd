/**
 * Shell quoting for values that go into a script the deployer configures (secret ARNs,
 * folders, reload commands). A POSIX single-quoted word takes every byte literally but
 * `'` itself, which is written as `'\''` (close, escaped quote, reopen). The result is
 * one word in sh, dash and bash, whatever the value holds.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('a shell word cannot hold a NUL byte');
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Several values as words of one command line, each quoted. */
export function shellWords(values: readonly string[]): string {
  return values.map(shellQuote).join(' ');
}
