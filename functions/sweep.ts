import { composeRuntime } from '../src/app/compose.js';
import { createSweepHandler } from '../src/app/handlers.js';
import { readRuntimeConfig } from '../src/config/runtime-config.js';

/** Scheduled sweep: creates or updates a record for every secret tagged certloop:domains. */
export const handler = createSweepHandler(composeRuntime(readRuntimeConfig(process.env)));
