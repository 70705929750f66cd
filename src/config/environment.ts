/**
 * Environment variable names, defined once. The Lambda functions read them through
 * `readRuntimeConfig`; the CDK construct sets them from the same constants, so the two
 * cannot drift.
 */
export const ENV = {
  /** DynamoDB table of certificate records. */
  tableName: 'CERTLOOP_TABLE_NAME',
  /** JSON: {"<issuer name>": {"directoryUrl": "...", "contactEmail": "...", "trustedCaFile": "..."}}. */
  issuers: 'CERTLOOP_ISSUERS',
  /** Issuer used by registrations that name none. Default: the only issuer, or "default". */
  defaultIssuer: 'CERTLOOP_DEFAULT_ISSUER',
  /** Space- or comma-separated DNS suffixes names must fall under. Default: the hosted zones. */
  allowedSuffixes: 'CERTLOOP_ALLOWED_SUFFIXES',
  /** Most names per certificate. Default 100. */
  maxNames: 'CERTLOOP_MAX_NAMES',
  /** Where certificates go: `secrets-manager` (default) or `directory` (local mode). */
  secretStore: 'CERTLOOP_SECRET_STORE',
  /** Directory secret store root, with CERTLOOP_SECRET_STORE=directory. */
  secretStoreDir: 'CERTLOOP_SECRET_STORE_DIR',
  /** Name prefix of the ACME account-key secrets. Default `certloop/acme-account/`. */
  accountKeyPrefix: 'CERTLOOP_ACCOUNT_KEY_PREFIX',
  /** How DNS-01 is answered: `route53` (default) or `challtestsrv` (local mode). */
  dns: 'CERTLOOP_DNS',
  /** JSON: [{"hostedZoneId": "Z123", "domain": "example.com", "roleArn": "arn:..."?}]. */
  hostedZones: 'CERTLOOP_HOSTED_ZONES',
  /** SQS queue the planner hands due records to. */
  queueUrl: 'CERTLOOP_QUEUE_URL',
  /** pebble-challtestsrv management URL (local mode DNS-01). */
  challtestsrvUrl: 'CERTLOOP_CHALLTESTSRV_URL',
  /** pebble-challtestsrv DNS server, host:port, used to check propagation. */
  challtestsrvDns: 'CERTLOOP_CHALLTESTSRV_DNS',
  /** Lease length in seconds. Default 900. */
  leaseSeconds: 'CERTLOOP_LEASE_SECONDS',
  /** Records per batch (one DNS wait each). Default 50. */
  batchSize: 'CERTLOOP_BATCH_SIZE',
  /** Records worked on in parallel inside a batch. Default 10. */
  concurrency: 'CERTLOOP_CONCURRENCY',
  /** New orders the CA allows per budget window (forced renewals are spread to fit). Default 300. */
  budgetOrders: 'CERTLOOP_BUDGET_ORDERS',
  /** The budget window in hours. Default 3. */
  budgetWindowHours: 'CERTLOOP_BUDGET_WINDOW_HOURS',
  /** Longest delay between a renewal's slot and its order (planner period + queue). Default 600. */
  budgetSlackSeconds: 'CERTLOOP_BUDGET_SLACK_SECONDS',
  /** The log level of every function: DEBUG, INFO, WARN or ERROR. Default INFO. */
  logLevel: 'CERTLOOP_LOG_LEVEL',
  /** Records switched to a new target issuer at once during an issuer rotation. Default 30. */
  rotationBatch: 'CERTLOOP_ROTATION_BATCH',
  /** Most records one tick takes. Default 500. */
  maxRecordsPerTick: 'CERTLOOP_MAX_RECORDS_PER_TICK',
  /** `true`: records tagged `certloop:acm` are also imported into ACM. Default `false`. */
  acmImport: 'CERTLOOP_ACM_IMPORT',
} as const;
