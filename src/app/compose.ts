import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Route53Client } from '@aws-sdk/client-route-53';
import { AcmeClientCa } from '../adapters/acme/acme-client-ca.js';
import { AcmCertificateImporter } from '../adapters/aws/acm-certificate-importer.js';
import { Route53Dns01Solver } from '../adapters/aws/route53-dns01-solver.js';
import { ariCertificateIdOf } from '../adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../adapters/crypto/node-key-factory.js';
import { ChalltestsrvDns01Solver } from '../adapters/local/challtestsrv-dns01-solver.js';
import { type DnsConfig, exemptIssuerNames, type RuntimeConfig } from '../config/runtime-config.js';
import { issuerIdentity } from '../core/issuer-identity.js';
import type { Random } from '../core/time.js';
import type { AcmeCa } from '../ports/acme-ca.js';
import type { Clock } from '../ports/clock.js';
import type { Dns01Solver } from '../ports/dns01-solver.js';
import type { Logger } from '../ports/logger.js';
import type { ForceRenewalDeps } from '../services/force-renewal.js';
import type { IssuanceDeps } from '../services/issue-certificates.js';
import { type PlanAndIssueReport, planAndIssue } from '../services/plan-and-issue.js';
import type { RegistrationDeps } from '../services/register-certificates.js';
import type { SweepReport } from '../services/sweep-registrations.js';
import { composeRegistration } from './compose-registration.js';

export interface Runtime {
  config: RuntimeConfig;
  issuance: IssuanceDeps;
  registration: RegistrationDeps;
  renewal: ForceRenewalDeps;
  /**
   * One pass of the whole pipeline in this process (`planAndIssue`): due records admitted
   * within the CA's order budget (`config.budget`), then issued or renewed in batches.
   */
  tick(): Promise<PlanAndIssueReport>;
  /** Reads every registered secret's tags into records (`undefined` for stores without tags). */
  sweep?: () => Promise<SweepReport>;
}

export interface ComposeOptions {
  clock?: Clock;
  logger?: Logger;
  random?: Random;
  /** Lease owner; unique per process by default. */
  owner?: string;
  /** Wraps the configured DNS-01 solver (tests mirror Route 53 writes to a real DNS server). */
  decorateDns?: (solver: Dns01Solver) => Dns01Solver;
}

/**
 * The one composition root: turns a checked RuntimeConfig into services wired to their
 * adapters. Built once per cold start by the functions, and once per run by local mode.
 * Creating it makes no network call; clients connect on first use. DynamoDB endpoints
 * come from the SDK's standard AWS_ENDPOINT_URL(_DYNAMODB) variables.
 */
export function composeRuntime(config: RuntimeConfig, options: ComposeOptions = {}): Runtime {
  const random = options.random ?? Math.random;
  const base = composeRegistration(config, options);
  const { registration, renewal, secrets } = base;
  const { records, clock, logger } = registration;
  const configured = dnsSolverFor(config.dns);
  const dns = options.decorateDns ? options.decorateDns(configured) : configured;

  const cas = new Map<string, AcmeCa>();
  const issuers = (name: string): AcmeCa | undefined => {
    const issuer = config.issuers[name];
    if (!issuer) return undefined;
    const known = cas.get(name);
    if (known) return known;
    const ca = new AcmeClientCa({
      directoryUrl: issuer.directoryUrl,
      ...(issuer.contactEmail ? { contactEmail: issuer.contactEmail } : {}),
      ...(issuer.trustedCaFile ? { trustedCaPem: readFileSync(issuer.trustedCaFile, 'utf8') } : {}),
      secrets,
      keys: new NodeKeyFactory(),
      logger,
    });
    cas.set(name, ca);
    return ca;
  };

  const issuance: IssuanceDeps = {
    records,
    secrets,
    issuers,
    // Stamped on every certificate, for the issuer rotation (staging to production).
    issuerIdentities: (name) => {
      const issuer = config.issuers[name];
      return issuer ? issuerIdentity(issuer) : undefined;
    },
    dns,
    keys: new NodeKeyFactory(),
    clock,
    logger,
    random,
    policy: registration.policy,
    owner: options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    leaseMs: config.leaseMs,
    concurrency: config.concurrency,
    ariCertificateId: ariCertificateIdOf,
    ...(config.acmImport ? { acm: new AcmCertificateImporter() } : {}),
  };
  return {
    config,
    issuance,
    registration,
    renewal,
    tick: () =>
      planAndIssue(
        {
          issuance,
          control: renewal.control,
          budget: config.budget,
          exemptIssuers: new Set(exemptIssuerNames(config.issuers)),
        },
        { batchSize: config.batchSize, maxRecords: config.maxRecordsPerTick },
      ),
    ...(base.sweep ? { sweep: base.sweep } : {}),
  };
}

function dnsSolverFor(config: DnsConfig): Dns01Solver {
  if (config.kind === 'challtestsrv') {
    return new ChalltestsrvDns01Solver({
      managementUrl: config.managementUrl,
      dnsServer: config.dnsServer,
    });
  }
  return new Route53Dns01Solver({ zones: config.zones, client: new Route53Client({}) });
}
