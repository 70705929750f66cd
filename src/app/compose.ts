import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AcmeClientCa } from '../adapters/acme/acme-client-ca.js';
import { AcmCertificateImporter } from '../adapters/aws/acm-certificate-importer.js';
import { Route53Dns01Solver } from '../adapters/aws/route53-dns01-solver.js';
import { SecretsManagerEabKeySource } from '../adapters/aws/secrets-manager-eab-key-source.js';
import { ariCertificateIdOf } from '../adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../adapters/crypto/node-key-factory.js';
import { ChalltestsrvDns01Solver } from '../adapters/local/challtestsrv-dns01-solver.js';
import { FileEabKeySource } from '../adapters/local/file-eab-key-source.js';
import {
  type DnsConfig,
  type EabConfig,
  exemptIssuerNames,
  type RuntimeConfig,
} from '../config/runtime-config.js';
import { issuerIdentity } from '../core/issuer-identity.js';
import type { Random } from '../core/time.js';
import type { AcmeCa } from '../ports/acme-ca.js';
import type { Clock } from '../ports/clock.js';
import type { Dns01Solver } from '../ports/dns01-solver.js';
import type { EabKeySource } from '../ports/eab-key-source.js';
import type { EventBus } from '../ports/event-bus.js';
import type { Logger } from '../ports/logger.js';
import type { AnnounceDeps } from '../services/announce-outcomes.js';
import type { ForceRenewalDeps } from '../services/force-renewal.js';
import type { IssuanceDeps } from '../services/issue-certificates.js';
import { type PlanAndIssueReport, planAndIssue } from '../services/plan-and-issue.js';
import type { RegistrationDeps } from '../services/register-certificates.js';
import type { SweepReport } from '../services/sweep-registrations.js';
import { composeRegistration } from './compose-registration.js';

export interface Runtime {
  config: RuntimeConfig;
  issuance: IssuanceDeps;
  /** Announces worker outcomes (EventBridge's default bus; kept in memory in local mode). */
  announce: AnnounceDeps;
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
  /** Where announcements go; default: EventBridge with Secrets Manager, memory in local mode. */
  bus?: EventBus;
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
      issuerName: name,
      ...(issuer.eab
        ? { eab: { keyId: issuer.eab.keyId, hmacKey: eabKeySourceFor(name, issuer.eab) } }
        : {}),
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
    issuerProfile: (name) => config.issuers[name]?.profile,
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
  const { bus } = base;
  return {
    config,
    issuance,
    announce: { records, bus, clock, logger },
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

/**
 * Where an issuer's EAB HMAC key is read: its Secrets Manager secret (a client in the
 * secret's own region), or in local mode a file. Nothing is read until an account is
 * created.
 */
function eabKeySourceFor(issuer: string, eab: EabConfig): EabKeySource {
  if (eab.hmacKeySecretArn !== undefined) {
    const region = eab.hmacKeySecretArn.split(':')[3];
    return new SecretsManagerEabKeySource({
      client: new SecretsManagerClient(region ? { region } : {}),
      issuer,
      secretArn: eab.hmacKeySecretArn,
    });
  }
  // The config allows exactly one of the two (runtime-config.ts).
  return new FileEabKeySource({ issuer, path: eab.hmacKeyFile ?? '' });
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
