/**
 * The certloop CDK constructs. As a package: `import { CertLoop } from 'certloop'`
 * (package.json exports dist/infra/index.js, compiled with its .d.ts by `npm run build`).
 * Inside this repository: `import { CertLoop } from './infra/index.js'`.
 */
export {
  CertificateSecrets,
  type CertificateSecretsProps,
} from './certloop/certificate-secrets.js';
export {
  CERTLOOP_DEFAULTS,
  CertLoop,
  type CertLoopProps,
  type OrderBudgetProps,
  PLANNER_TIMEOUT,
  RENEW_TIMEOUT,
  STEK_TIMEOUT,
  SWEEP_TIMEOUT,
  WORKER_MEMORY_MB,
  WORKER_TIMEOUT,
} from './certloop/certloop.js';
// BUNDLING and FUNCTION_ENTRIES stay internal (infra/certloop/certloop-function.ts): they
// describe a checkout's TypeScript sources, which the installed package does not have.
export {
  CertLoopFunction,
  type CertLoopFunctionName,
  type CertLoopFunctionProps,
  FUNCTION_RUNTIME,
  type FunctionCode,
  resolveFunctionCode,
} from './certloop/certloop-function.js';
export {
  type ChallengeZone,
  ChallengeZones,
  type ChallengeZonesProps,
} from './certloop/challenge-zones.js';
export {
  type CertLoopIssuer,
  type CertLoopIssuerEab,
  hmacKeySecretResource,
  Issuers,
  type IssuersProps,
  LETS_ENCRYPT_PRODUCTION,
  LETS_ENCRYPT_STAGING,
} from './certloop/issuers.js';
export { METRIC_DIMENSIONS, Monitoring, type MonitoringProps } from './certloop/monitoring.js';
export { RecordsTable, type RecordsTableProps } from './certloop/records-table.js';
export { StekSets, type StekSetsProps } from './certloop/stek-sets.js';
export {
  MAX_RECEIVE_COUNT,
  WORKER_BATCH_SIZE,
  WorkQueue,
  type WorkQueueConsumerOptions,
  type WorkQueueProps,
} from './certloop/work-queue.js';
export { CertLoopStack, type CertLoopStackProps } from './certloop-stack.js';
export {
  certificateIssuedPattern,
  type SecretRef,
  secretArnOf,
} from './consumers/certificate-issued-rule.js';
export {
  EVENT_ARN_PATH,
  ExportToInstances,
  type ExportToInstancesProps,
  exportScript,
  type InstanceExport,
  type InstanceSelection,
  RUN_SHELL_SCRIPT,
  UNKNOWN_SECRET_EXIT,
} from './consumers/export-to-instances.js';
export {
  type EcsServiceName,
  type ForceNewDeployment,
  RedeployEcsService,
  type RedeployEcsServiceProps,
} from './consumers/redeploy-ecs-service.js';
export { shellQuote, shellWords } from './consumers/shell-words.js';
export { CONTEXT_DEFAULTS, CONTEXT_KEYS, certLoopPropsFromContext } from './context.js';
