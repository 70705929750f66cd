/**
 * Reading single values from a function's environment. Every reader throws a
 * ConfigError whose message starts with the variable's name and says what was wrong,
 * so that a cold start fails before any client is created.
 */

/** The environment as a function sees it (`process.env`). */
export type Env = Record<string, string | undefined>;

/** A variable that is missing or malformed; the message starts with its name. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/**
 * The whole number in `name`, from `min` to `max` inclusive; `fallback` when the variable
 * is unset or blank. Anything else (a fraction, words, out of range) is a ConfigError:
 * `NAME: "<raw>" is not a whole number between <min> and <max>`.
 */
export function wholeNumber(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `"${raw}" is not a whole number between ${min} and ${max}`);
  }
  return value;
}
