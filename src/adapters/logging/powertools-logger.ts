import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { LogFields, Logger } from '../../ports/logger.js';

type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/**
 * The Logger port on Powertools for AWS Lambda: one JSON object per line, with the
 * Lambda context keys when running there. Fields are passed as structured keys, never
 * interpolated into the message.
 */
export class StructuredLogger implements Logger {
  readonly #logger: PowertoolsLogger;

  constructor(options: { serviceName?: string; level?: Level } | PowertoolsLogger = {}) {
    this.#logger =
      options instanceof PowertoolsLogger
        ? options
        : new PowertoolsLogger({
            serviceName: options.serviceName ?? 'certloop',
            logLevel:
              options.level ?? (process.env.CERTLOOP_LOG_LEVEL as Level | undefined) ?? 'INFO',
          });
  }

  /** The underlying Powertools logger, for `injectLambdaContext` in handlers. */
  get powertools(): PowertoolsLogger {
    return this.#logger;
  }

  debug(message: string, fields?: LogFields): void {
    fields ? this.#logger.debug(message, fields) : this.#logger.debug(message);
  }

  info(message: string, fields?: LogFields): void {
    fields ? this.#logger.info(message, fields) : this.#logger.info(message);
  }

  warn(message: string, fields?: LogFields): void {
    fields ? this.#logger.warn(message, fields) : this.#logger.warn(message);
  }

  error(message: string, fields?: LogFields): void {
    fields ? this.#logger.error(message, fields) : this.#logger.error(message);
  }

  child(fields: LogFields): Logger {
    return new StructuredLogger(
      this.#logger.createChild({ persistentKeys: fields }) as PowertoolsLogger,
    );
  }
}
