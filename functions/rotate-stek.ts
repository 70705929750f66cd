import { composeStekRotation } from '../src/app/compose-stek.js';
import { createStekHandler } from '../src/app/handlers.js';
import { readStekConfig } from '../src/config/stek-environment.js';

// Built once per cold start; a bad configuration fails here, naming the variable.
/** Scheduled STEK rotation; see createStekHandler. */
export const handler = createStekHandler(composeStekRotation(readStekConfig(process.env)));
