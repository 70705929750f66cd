/**
 * Structured logging. Messages are short and say why; `fields` carry the facts
 * (record id, rule that fired, delays). Contract: callers never pass key material, and
 * adapters never add it; `KeyMaterial` renders as a placeholder if one slips through.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (correlation: record id, tick id). */
  child(fields: LogFields): Logger;
}
