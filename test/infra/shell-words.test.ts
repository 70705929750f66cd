import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote, shellWords } from '../../infra/consumers/shell-words.js';

const SHELLS = ['sh', 'bash'] as const;

/** What a shell makes of `words` as the arguments of printf: one line per word. */
function parsedBy(shell: string, words: string): string {
  const run = spawnSync(shell, ['-c', `printf '%s\\n' ${words}`], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${shell} failed: ${run.stderr}`);
  return run.stdout;
}

const AWKWARD = [
  '',
  'plain',
  "it's",
  "''",
  "'\\''",
  '$(touch /nonexistent/x)',
  '`id`',
  'a; b && c | d',
  'two words',
  'line\nbreak',
  '"double" \\back\\slash',
  '*',
  '~root',
  '$HOME',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${...}, on purpose
  '${PATH}',
  '#not a comment',
];

describe('shell quoting of configured values', () => {
  it('wraps a value in single quotes and writes a quote inside as close, escaped quote, reopen', () => {
    expect(shellQuote('systemctl reload nginx')).toBe("'systemctl reload nginx'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
  });

  it.each(SHELLS)('gives %s every awkward value back as exactly one word, unexpanded', (shell) => {
    for (const value of AWKWARD) {
      expect(parsedBy(shell, shellQuote(value)), JSON.stringify(value)).toBe(`${value}\n`);
    }
    expect(parsedBy(shell, shellWords(AWKWARD))).toBe(AWKWARD.map((v) => `${v}\n`).join(''));
  });

  it('refuses a NUL byte, which no shell word can hold', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });
});
