import { composePlanner } from '../src/app/compose-planner.js';
import { createPlannerHandler } from '../src/app/handlers.js';
import { readPlannerConfig } from '../src/config/runtime-config.js';

/** EventBridge-scheduled planner: finds due records and sends them to the work queue. */
export const handler = createPlannerHandler(composePlanner(readPlannerConfig(process.env)));
