/**
 * Importing a record's certificate into ACM (the `certloop:acm` tag: `new` or an ACM
 * certificate ARN): what the tag may say, and when an import is owed. Pure.
 */

/** What a record asked of ACM, and what certloop has done there. */
export interface AcmImport {
  /** The tag's value: `new`, or the ARN of an existing ACM certificate to import into. */
  target: string;
  /** The ACM certificate that holds this record's pair; set by the first import for `new`. */
  arn?: string;
  /** Serial of the certificate last imported into `arn`. */
  importedSerial?: string;
}

/** The tag value that asks for a new ACM certificate. */
export const ACM_NEW = 'new';

const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]{1,128}$/;

/** The problem with a `certloop:acm` value, or undefined when it is `new` or an ACM ARN. */
export function acmTargetProblem(value: string): string | undefined {
  if (value === ACM_NEW || ACM_ARN.test(value)) return undefined;
  return (
    `tag "certloop:acm" is "${value.slice(0, 64)}"${value.length > 64 ? '...' : ''}; ` +
    `it must be "new" or the ARN of an ACM certificate (arn:aws:acm:<region>:<account>:certificate/<id>)`
  );
}

/**
 * The record's ACM state after a registration asks for `target` (undefined: no import).
 * The same target keeps what was imported; a new ARN starts over there; `new` after
 * `new` keeps the certificate certloop created, so re-tagging never makes a second one.
 */
export function nextAcmImport(
  existing: AcmImport | undefined,
  target: string | undefined,
): AcmImport | undefined {
  if (target === undefined) return undefined;
  if (existing && existing.target === target) return existing;
  return target === ACM_NEW ? { target } : { target, arn: target };
}

/** The ACM certificate to import into: the known ARN, or undefined for a first `new` import. */
export function acmImportArn(acm: AcmImport): string | undefined {
  return acm.arn ?? (acm.target === ACM_NEW ? undefined : acm.target);
}

/** Serials compare without case and separators ("0A:1B" equals "0a1b"). */
export function sameSerial(a: string, b: string): boolean {
  const plain = (s: string) => s.replace(/[^0-9a-f]/gi, '').toLowerCase();
  return plain(a) === plain(b);
}

/** True when the record's current certificate has not yet been imported into ACM. */
export function acmImportPending(record: {
  acm?: AcmImport | undefined;
  current?: { serial: string } | undefined;
}): boolean {
  const { acm, current } = record;
  if (!acm || !current) return false;
  return acm.importedSerial === undefined || !sameSerial(acm.importedSerial, current.serial);
}
