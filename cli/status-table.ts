import Table from 'cli-table3';
import { acmImportPending } from '../src/core/acm-import.js';
import type { CertificateRecord } from '../src/core/certificate-record.js';
import type { RotationState } from '../src/core/issuer-rotation.js';
import type { BudgetStatus } from '../src/core/order-ledger.js';

const day = 86_400_000;

function when(instant: number | undefined, now: number): string {
  if (instant === undefined) return '-';
  const text = new Date(instant).toISOString().replace('T', ' ').slice(0, 16);
  const days = (instant - now) / day;
  const relative =
    Math.abs(days) < 1 ? `${Math.round((instant - now) / 60_000)} min` : `${days.toFixed(1)} d`;
  return `${text} (${relative})`;
}

/** The operator's view of the records: one row each, problems spelled out. */
export function renderStatusTable(records: readonly CertificateRecord[], now: number): string {
  const table = new Table({
    head: [
      'name',
      'status',
      'domains',
      'notAfter',
      'renewal',
      'next attempt',
      'failures',
      'last error',
    ],
    colWidths: [18, 9, 30, 30, 34, 30, 10, 36],
    wordWrap: true,
  });
  for (const record of [...records].sort((a, b) => a.id.localeCompare(b.id))) {
    table.push([
      record.id,
      record.status,
      // An ACM ARN has no spaces: that cell wraps anywhere, so the ARN shows whole.
      record.acm
        ? { content: record.domains.join(' ') + acmNote(record), wrapOnWordBoundary: false }
        : record.domains.join(' '),
      when(record.current?.notAfter, now),
      renewalCell(record, now),
      record.status === 'invalid'
        ? 'waits for a change'
        : record.status === 'unmanaged'
          ? 'not managed (tag removed)'
          : when(record.nextAttemptAt, now),
      String(record.failures),
      record.statusMessage ?? record.lastError?.message ?? '',
    ]);
  }
  return table.toString();
}

const RULE_NAMES = {
  'ari-suggested-window': 'ari',
  'two-thirds-of-lifetime': '2/3',
  'half-of-lifetime': '1/2',
} as const;

function shortDate(instant: number): string {
  return new Date(instant).toISOString().replace('T', ' ').slice(5, 16);
}

/**
 * The renewal rule and time, with the CA's renewal information (RFC 9773) when there is
 * any: the suggested window and when it is checked again.
 */
function renewalCell(record: CertificateRecord, now: number): string {
  if (record.renewAt === undefined) return '-';
  const rule = record.renewalRule ? RULE_NAMES[record.renewalRule] : '2/3';
  const lines = [`${rule} ${when(record.renewAt, now)}`];
  const ari = record.ari;
  if (ari?.window)
    lines.push(`window ${shortDate(ari.window.start)} .. ${shortDate(ari.window.end)}`);
  if (ari) lines.push(`ARI check ${when(ari.checkAt, now)}`);
  if (ari?.problem) lines.push(`ARI: ${ari.problem}`);
  return lines.join('\n');
}

/** Where the certificate is imported in ACM (`certloop:acm`), under the names. */
function acmNote(record: CertificateRecord): string {
  if (!record.acm) return '';
  if (!record.acm.arn) return '\nACM: new, not imported yet';
  const owed = acmImportPending(record) ? ' (import owed)' : '';
  return `\nACM: ${record.acm.arn}${owed}`;
}

function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}` : `${minutes} min`;
}

/** One line on the CA's order budget, as the planner's ledger has it. */
export function renderBudgetLine(status: BudgetStatus, now: number): string {
  const head = `CA order budget: ${status.used} of ${status.orders} orders admitted in the last ${duration(status.spanMs)}`;
  if (status.roomAt === undefined)
    return `${head}; room for ${status.orders - status.used} more now`;
  return `${head}; due records wait for room at ${when(status.roomAt, now)}`;
}

/**
 * One line on the issuer rotation, as the planner's control document has it: the
 * target (and its identity), converged of total, and when it started or completed.
 */
export function renderRotationLine(state: RotationState, now: number): string {
  const target = state.targetIdentity ? `${state.target} (${state.targetIdentity})` : state.target;
  const progress = `${state.converged} of ${state.total} certificates re-issued`;
  if (state.completedAt !== undefined)
    return `Issuer rotation to ${target}: complete, ${progress}, at ${when(state.completedAt, now)}`;
  const scheduled = state.scheduled ?? 0;
  return `Issuer rotation to ${target}: in progress, ${progress}, ${scheduled} switched so far; started ${when(state.startedAt, now)}`;
}
