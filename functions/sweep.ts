import { composeRegistration } from '../src/app/compose-registration.js';
import { createSweepHandler } from '../src/app/handlers.js';
import { readRuntimeConfig } from '../src/config/runtime-config.js';

/** Scheduled sweep: creates or updates a record for every secret tagged certloop:domains. */
export const handler = createSweepHandler(composeRegistration(readRuntimeConfig(process.env)));
