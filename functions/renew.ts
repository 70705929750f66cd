import { composeRegistration } from '../src/app/compose-registration.js';
import { createRenewHandler } from '../src/app/handlers.js';
import { readRuntimeConfig } from '../src/config/runtime-config.js';

/**
 * Manual invoke: force renewals.
 * `aws lambda invoke --function-name <Renew> --cli-binary-format raw-in-base64-out --payload '{"domain":"www.example.com","reason":"key compromise"}' out.json`
 */
const runtime = composeRegistration(readRuntimeConfig(process.env));

export const handler = createRenewHandler(runtime.renewal, runtime.recheck);
