import { composeRuntime } from '../src/app/compose.js';
import { createWorkerHandler } from '../src/app/handlers.js';
import { readRuntimeConfig } from '../src/config/runtime-config.js';

/** SQS-triggered worker; partial batch responses (ReportBatchItemFailures). */
export const handler = createWorkerHandler(composeRuntime(readRuntimeConfig(process.env)));
