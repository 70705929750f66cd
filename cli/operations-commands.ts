import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { DynamoDbControlRecords } from '../src/adapters/dynamodb/dynamodb-control-records.js';
import { DynamoDbRecordStore } from '../src/adapters/dynamodb/dynamodb-record-store.js';
import { StructuredLogger } from '../src/adapters/logging/powertools-logger.js';
import { renewalInfoSources } from '../src/app/compose-registration.js';
import { PayloadError, parseRenewPayload } from '../src/app/renew-payload.js';
import { systemClock } from '../src/app/system-clock.js';
import { ENV } from '../src/config/environment.js';
import {
  exemptIssuerNames,
  type IssuerConfig,
  readBudget,
  readIssuers,
} from '../src/config/runtime-config.js';
import { describeCapacity, fleetCapacity } from '../src/core/fleet-capacity.js';
import type { RotationState } from '../src/core/issuer-rotation.js';
import { budgetStatus } from '../src/core/order-ledger.js';
import { openLocalRecords } from '../src/local/local-records.js';
import { LOCAL_ISSUERS_FILE } from '../src/local/runner.js';
import type { CertificateRecordStore } from '../src/ports/certificate-records.js';
import type { ControlRecords } from '../src/ports/control-records.js';
import { forceRenewal } from '../src/services/force-renewal.js';
import { ORDER_LEDGER, type OrderLedgerDocument } from '../src/services/plan-due-work.js';
import { recheckRenewalInfo } from '../src/services/recheck-renewal-info.js';
import { ISSUER_ROTATION } from '../src/services/reconcile-issuer.js';
import { renderBudgetLine, renderRotationLine, renderStatusTable } from './status-table.js';

interface Target {
  stateDir: string;
  table?: string;
}

/** Where the records are: a DynamoDB table on AWS (standard credential chain), or local mode's state folder. */
async function openRecords(target: Target): Promise<{
  records: CertificateRecordStore;
  control: ControlRecords;
  close(): Promise<void>;
  where: string;
}> {
  const table = target.table ?? process.env[ENV.tableName];
  if (table) {
    const client = new DynamoDBClient({});
    return {
      records: new DynamoDbRecordStore({ client, tableName: table }),
      control: new DynamoDbControlRecords({ client, tableName: table }),
      close: async () => client.destroy(),
      where: `table ${table}`,
    };
  }
  const local = await openLocalRecords(target.stateDir);
  return { ...local, where: `local state ${target.stateDir}` };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(/[\s,]+/).filter(Boolean)];
}

/** `certloop status` and `certloop renew`: the operator's view and the forced renewal, on AWS or local mode. */
export function registerOperationsCommands(program: Command): void {
  const where = (command: Command) =>
    command
      .option('-s, --state-dir <dir>', 'local mode state folder', '.certloop')
      .option(
        '-t, --table <name>',
        `DynamoDB table on AWS (default: $${ENV.tableName}; without it: local mode)`,
      );

  where(
    program
      .command('status')
      .description(
        'one row per certificate: domains, notAfter, next attempt, failures, last error',
      ),
  )
    .option('--json', 'print the records as JSON')
    .action(async (options: Target & { json?: boolean }) => {
      const opened = await openRecords(options);
      try {
        const records = await opened.records.list();
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify(
              records.map(({ lease, ...rest }) => rest),
              null,
              2,
            )}\n`,
          );
        } else {
          const now = Date.now();
          const ledger = await opened.control.get<OrderLedgerDocument>(ORDER_LEDGER);
          const orderBudget = readBudget(process.env);
          const budget = budgetStatus(ledger?.value.entries ?? [], now, orderBudget);
          const capacity = fleetCapacity(records, orderBudget, exemptIssuersFor(options));
          const rotation = await opened.control.get<RotationState>(ISSUER_ROTATION);
          process.stdout.write(
            `${renderStatusTable(records, now)}\n${records.length} certificates in ${opened.where}\n` +
              `${renderBudgetLine(budget, now)}\n${describeCapacity(capacity, orderBudget)}\n` +
              (rotation ? `${renderRotationLine(rotation.value, now)}\n` : ''),
          );
        }
      } finally {
        await opened.close();
      }
    });

  where(
    program
      .command('renew')
      .description('force renewals: the same selectors as the Renew function'),
  )
    .option('--secret <secret>', 'one secret, by name or ARN')
    .option('--domain <name>', 'certificates holding this name')
    .option('--serial <serials>', 'certificate serials (repeat or comma-separate)', collect)
    .option('--issuer <name>', 'certificates issued by this named issuer')
    .option('--all', 'every certificate')
    .option('--reason <text>', 'kept on each record and logged')
    .option('--dry-run', 'report the match and schedule; change nothing')
    .option(
      '--ari-check',
      "re-check the CA's renewal information (ARI) of the selected certificates now, instead of forcing them; reports which windows moved",
    )
    .option('--json', 'print the report as JSON')
    .action(
      async (
        options: Target & {
          secret?: string;
          domain?: string;
          serial?: string[];
          issuer?: string;
          all?: boolean;
          reason?: string;
          dryRun?: boolean;
          ariCheck?: boolean;
          json?: boolean;
        },
      ) => {
        let request: ReturnType<typeof parseRenewPayload>;
        try {
          request = parseRenewPayload({
            ...(options.secret !== undefined ? { secret: options.secret } : {}),
            ...(options.domain !== undefined ? { domain: options.domain } : {}),
            ...(options.serial !== undefined ? { serials: options.serial } : {}),
            ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
            ...(options.all ? { all: true } : {}),
            ...(options.reason !== undefined ? { reason: options.reason } : {}),
            dryRun: options.dryRun ?? false,
            ...(options.ariCheck ? { ariCheck: true } : {}),
          });
        } catch (error) {
          if (error instanceof PayloadError)
            throw new Error(error.message.replace(/"serials(\.\d+)?"/g, '--serial'));
          throw error;
        }
        if (request.ariCheck) {
          await recheckCommand(options, request, options.json ?? false);
          return;
        }
        const opened = await openRecords(options);
        const bar = new cliProgress.SingleBar(
          { format: 'scheduling {bar} {value}/{total}', stream: process.stderr },
          cliProgress.Presets.shades_classic,
        );
        let started = false;
        try {
          const report = await forceRenewal(
            {
              records: opened.records,
              control: opened.control,
              clock: systemClock,
              logger: new StructuredLogger({ level: 'WARN' }),
              budget: readBudget(process.env),
              onProgress: (done, total) => {
                if (options.json || total < 2) return;
                if (!started) bar.start(total, 0);
                started = true;
                bar.update(done);
              },
            },
            request,
          );
          if (started) bar.stop();
          if (options.json) {
            process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
            return;
          }
          const verb = report.dryRun ? 'would schedule' : 'scheduled';
          process.stdout.write(
            `${verb} ${report.matched.length} renewal(s) in ${opened.where}${report.window ? ` from ${report.window.from} to ${report.window.to}` : ''}\n`,
          );
          for (const m of report.matched)
            process.stdout.write(
              `  ${m.id}  ${m.domains.join(' ')}  serial ${m.serial ?? '-'}  at ${m.renewAt}\n`,
            );
          for (const s of report.skipped) process.stdout.write(`  skipped ${s.id}: ${s.why}\n`);
          if (report.unknownSerials.length > 0)
            process.stdout.write(`  unknown serials: ${report.unknownSerials.join(' ')}\n`);
        } finally {
          await opened.close();
        }
      },
    );
}

/**
 * The issuers whose renewal information `renew --ari-check` reads: CERTLOOP_ISSUERS as
 * for the deployed functions, else the ones local mode wrote to its state folder.
 */
function issuersFor(target: Target): Record<string, IssuerConfig> {
  if (process.env[ENV.issuers]?.trim()) return readIssuers(process.env);
  const file = join(target.stateDir, LOCAL_ISSUERS_FILE);
  if (!existsSync(file)) {
    throw new Error(
      `renew --ari-check needs the issuers: set ${ENV.issuers} (as for the deployed functions), or run local mode once so that ${file} exists`,
    );
  }
  return readIssuers({ [ENV.issuers]: readFileSync(file, 'utf8') });
}

/** Issuers whose ARI renewals are exempt, when the issuers are known (else none). */
function exemptIssuersFor(target: Target): ReadonlySet<string> {
  try {
    return new Set(exemptIssuerNames(issuersFor(target)));
  } catch {
    return new Set();
  }
}

async function recheckCommand(
  target: Target,
  request: ReturnType<typeof parseRenewPayload>,
  json: boolean,
): Promise<void> {
  const issuers = issuersFor(target);
  const opened = await openRecords(target);
  try {
    const report = await recheckRenewalInfo(
      {
        records: opened.records,
        clock: systemClock,
        logger: new StructuredLogger({ level: 'WARN' }),
        random: Math.random,
        issuers: renewalInfoSources(issuers),
      },
      request,
    );
    if (json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const verb = report.dryRun ? 'checked (dry run, nothing stored)' : 'checked';
    process.stdout.write(
      `renewal information ${verb}: ${report.checked.length} certificate(s) in ${opened.where}; ${report.moved} window(s) moved, ${report.renewNow} renew now\n`,
    );
    for (const c of report.checked) {
      const window = c.window ? ` window ${c.window.start} .. ${c.window.end}` : '';
      const moved = c.windowMoved ? 'MOVED' : 'unchanged';
      process.stdout.write(
        `  ${c.id}  serial ${c.serial ?? '-'}  ${moved}${window}  renews at ${c.renewAt} (${c.rule})${c.problem ? `  ${c.problem}` : ''}\n`,
      );
    }
    for (const s of report.skipped) process.stdout.write(`  skipped ${s.id}: ${s.why}\n`);
    if (report.unknownSerials.length > 0)
      process.stdout.write(`  unknown serials: ${report.unknownSerials.join(' ')}\n`);
  } finally {
    await opened.close();
  }
}
