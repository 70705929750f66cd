import { acmImportArn, sameSerial } from '../core/acm-import.js';
import type { CertificateRecord } from '../core/certificate-record.js';
import { asCertloopError, CertloopError } from '../core/errors.js';
import type { IssuanceReason } from '../core/issuance-checks.js';
import { type Instant, iso } from '../core/time.js';
import type { CertificateImport } from '../ports/certificate-importer.js';
import type { IssuanceDeps, RecordOutcome } from './issuance-deps.js';
import { recordFailure, save } from './record-writes.js';

/** The parts of a certificate ACM takes. */
type ImportPair = Pick<CertificateImport, 'certificate' | 'chain' | 'privateKey'>;

/**
 * The import after issuance, for a record tagged `certloop:acm`: `saved` is the record as
 * written with the new certificate, still leased and due when the lease ends. On success
 * the import is recorded, the lease released, and `issued` returned; on failure the
 * failure is recorded and reported, saying the certificate itself was published.
 */
export async function importIssued(
  deps: IssuanceDeps,
  saved: CertificateRecord,
  pair: ImportPair,
  issued: RecordOutcome & { serial: string; nextAttemptAt: Instant },
): Promise<RecordOutcome> {
  const acm = saved.acm;
  if (!acm) return issued;
  try {
    const arn = await importIntoAcm(deps, saved, pair);
    await save(
      deps,
      saved,
      {
        acm: { ...acm, arn, importedSerial: issued.serial },
        nextAttemptAt: issued.nextAttemptAt,
      },
      'release',
    );
    deps.logger.info('imported into ACM', { record: saved.id, arn, serial: issued.serial });
    return issued;
  } catch (error) {
    const failed = await recordFailure(deps, saved.id, saved, asCertloopError(error, 'acm'));
    return {
      ...failed,
      serial: issued.serial,
      // The pair is published all the same: consumers hear of it.
      ...(issued.issued ? { issued: issued.issued } : {}),
      detail: `certificate ${issued.serial} was issued and published to the secret; ${failed.detail}`,
    };
  }
}

/**
 * The import-only step: the certificate is up to date in the secret but not in ACM (the
 * tag was added later, or an earlier import failed). The pair is read back from the
 * secret's current version, which must be the certificate the record knows.
 */
export async function importCurrent(
  deps: IssuanceDeps,
  record: CertificateRecord,
  reason: IssuanceReason,
  nextAttemptAt: Instant,
): Promise<RecordOutcome> {
  const known = record.current;
  const acm = record.acm;
  if (!known || !acm)
    throw new Error('importCurrent needs a current certificate and an ACM target');
  const pair = await deps.secrets.readCertificate(record.id, 'current');
  if (!pair || !sameSerial(pair.serial, known.serial)) {
    throw new CertloopError(
      'transient',
      `the secret's current version holds ${pair ? `certificate ${pair.serial}` : 'no certificate'}, ` +
        `not ${known.serial} that this record issued; it is not imported into ACM`,
      { source: 'secrets' },
    );
  }
  const arn = await importIntoAcm(deps, record, pair);
  await save(
    deps,
    record,
    {
      acm: { ...acm, arn, importedSerial: known.serial },
      status: 'active',
      statusMessage: undefined,
      failures: 0,
      lastError: undefined,
      nextAttemptAt,
    },
    'release',
  );
  deps.logger.info('imported into ACM', {
    record: record.id,
    rule: reason,
    arn,
    serial: known.serial,
    nextAttemptAt: iso(nextAttemptAt),
  });
  return { id: record.id, outcome: 'imported', reason, serial: known.serial, nextAttemptAt };
}

/**
 * Imports the pair into the record's ACM certificate and returns its ARN. ACM refusing
 * (denied, unknown ARN, a pair it will not take) never makes the record `invalid`: its
 * certificate is current in the secret and must keep renewing, so such a failure counts
 * and backs off like a CA failure, with the reason in the record.
 */
async function importIntoAcm(
  deps: IssuanceDeps,
  record: CertificateRecord,
  pair: ImportPair,
): Promise<string> {
  const acm = record.acm;
  if (!acm) throw new Error('importIntoAcm needs an ACM target');
  if (!deps.acm) {
    throw new CertloopError(
      'transient',
      'the record asks for an ACM import (certloop:acm) but this deployment does not import into ACM; ' +
        'deploy it with acmImport enabled, or remove the tag',
      { source: 'acm' },
    );
  }
  const arn = acmImportArn(acm);
  try {
    return (
      await deps.acm.importCertificate({
        secretId: record.id,
        ...(arn ? { arn } : {}),
        ...pair,
      })
    ).arn;
  } catch (error) {
    const failure = asCertloopError(error, 'acm');
    if (failure.kind === 'permanent' || failure.kind === 'not-found') {
      throw new CertloopError(
        'transient',
        `${failure.message} The secret holds the current certificate; the import is tried again with backoff.`,
        { source: 'acm', cause: failure },
      );
    }
    throw failure;
  }
}
