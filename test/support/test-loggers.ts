import type { LogFields, Logger } from '../../src/ports/logger.js';

/** A Logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};

export interface LogLine {
  level: string;
  message: string;
  fields: LogFields;
}

/** A Logger that keeps every line (children share the list), for tests that read logs. */
export class RecordingLogger implements Logger {
  readonly lines: LogLine[];
  readonly #bound: LogFields;

  constructor(lines: LogLine[] = [], bound: LogFields = {}) {
    this.lines = lines;
    this.#bound = bound;
  }

  /** Each line as the JSON a structured logger prints (KeyMaterial renders redacted). */
  jsonLines(): string[] {
    return this.lines.map(({ level, message, fields }) =>
      JSON.stringify({ level, message, ...fields }),
    );
  }

  #log(level: string, message: string, fields: LogFields = {}): void {
    this.lines.push({ level, message, fields: { ...this.#bound, ...fields } });
  }

  debug(message: string, fields?: LogFields): void {
    this.#log('debug', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.#log('info', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.#log('warn', message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.#log('error', message, fields);
  }

  child(fields: LogFields): Logger {
    return new RecordingLogger(this.lines, { ...this.#bound, ...fields });
  }
}
