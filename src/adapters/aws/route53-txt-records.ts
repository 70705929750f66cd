/**
 * Route 53 TXT record sets for DNS-01, as plain data: the encoding Route 53 wants, the
 * merge of new values into what is published, and the split of one zone's changes into
 * requests within Route 53's limits. UPSERT replaces a whole record set and DELETE must
 * name it exactly as it is, so every change is computed from the set as last read.
 */
import type { Change } from '@aws-sdk/client-route-53';

export const CHALLENGE_PREFIX = '_acme-challenge.';
export const TXT_TTL_SECONDS = 60;
/** ChangeResourceRecordSets limits: ResourceRecord elements and Value characters, UPSERT counting double. */
const MAX_BATCH_RECORDS = 1_000;
const MAX_BATCH_CHARACTERS = 32_000;
/** Longest character-string in a TXT record. */
const MAX_TXT_STRING = 255;

/** The TXT record set Route 53 holds for a name right now. */
export interface CurrentSet {
  ttl: number;
  /** `Value`s exactly as Route 53 returned them (quoted), in its order. */
  raw: string[];
  /** The same values decoded: `"abc"` is `abc`. */
  values: string[];
}

/** The UPSERT that publishes `values` next to what `existing` holds (kept as read). */
export function presentChange(
  name: string,
  values: ReadonlySet<string>,
  existing: CurrentSet | undefined,
): Change {
  const raw = [...(existing?.raw ?? [])];
  const published = new Set(existing?.values ?? []);
  for (const value of values) {
    if (published.has(value)) continue;
    published.add(value);
    raw.push(encodeTxt(value));
  }
  return txtChange('UPSERT', name, TXT_TTL_SECONDS, raw);
}

/**
 * The change that takes `values` out of `existing`: an UPSERT of the values that stay, a
 * DELETE of the set exactly as read when none stay, or nothing when none of them is there.
 */
export function cleanupChange(
  name: string,
  values: ReadonlySet<string>,
  existing: CurrentSet | undefined,
): Change | undefined {
  if (!existing) return undefined;
  const remaining = existing.raw.filter((_, index) => !values.has(existing.values[index] ?? ''));
  if (remaining.length === existing.raw.length) return undefined;
  return remaining.length > 0
    ? txtChange('UPSERT', name, existing.ttl, remaining)
    : txtChange('DELETE', name, existing.ttl, existing.raw);
}

function txtChange(
  action: 'UPSERT' | 'DELETE',
  name: string,
  ttl: number,
  raw: readonly string[],
): Change {
  return {
    Action: action,
    ResourceRecordSet: {
      Name: name,
      Type: 'TXT',
      TTL: ttl,
      ResourceRecords: raw.map((Value) => ({ Value })),
    },
  };
}

/**
 * DNS names compare case-insensitively and a trailing dot is the same name. Route 53
 * returns names with a trailing dot and escapes some characters as `\ddd` (octal), `*` as
 * `\052`: decode those so its names compare equal to ours.
 */
export function normalizeName(name: string): string {
  return name
    .replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
    .toLowerCase()
    .replace(/\.$/, '');
}

/** A TXT value as Route 53 wants it: quoted, `"` and `\` escaped, split into 255-character strings. */
export function encodeTxt(value: string): string {
  const strings: string[] = [];
  for (let start = 0; start < value.length || strings.length === 0; start += MAX_TXT_STRING) {
    const piece = value
      .slice(start, start + MAX_TXT_STRING)
      .replace(/["\\]/g, (char) => `\\${char}`);
    strings.push(`"${piece}"`);
  }
  return strings.join(' ');
}

/** The value of a Route 53 TXT `Value`: its quoted strings joined, escapes decoded. */
export function decodeTxt(raw: string): string {
  let value = '';
  let quoted = false;
  for (let index = 0; index < raw.length; index++) {
    const char = raw.charAt(index);
    if (char === '"') {
      quoted = !quoted;
    } else if (char === '\\') {
      const octal = /^[0-7]{3}/.exec(raw.slice(index + 1, index + 4));
      if (octal) {
        value += String.fromCharCode(Number.parseInt(octal[0], 8));
        index += 3;
      } else {
        value += raw.charAt(index + 1);
        index += 1;
      }
    } else if (quoted || !/\s/.test(char)) {
      value += char; // unquoted text is taken as is, whitespace between strings dropped
    }
  }
  return value;
}

/** Splits one zone's changes so that no request exceeds Route 53's size limits. */
export function chunkChanges(changes: Change[]): Change[][] {
  const chunks: Change[][] = [];
  let chunk: Change[] = [];
  let records = 0;
  let characters = 0;
  for (const change of changes) {
    const weight = change.Action === 'UPSERT' ? 2 : 1;
    const values = change.ResourceRecordSet?.ResourceRecords ?? [];
    const changeRecords = weight * values.length;
    const changeCharacters =
      weight * values.reduce((sum, record) => sum + (record.Value?.length ?? 0), 0);
    if (
      chunk.length > 0 &&
      (records + changeRecords > MAX_BATCH_RECORDS ||
        characters + changeCharacters > MAX_BATCH_CHARACTERS)
    ) {
      chunks.push(chunk);
      chunk = [];
      records = 0;
      characters = 0;
    }
    chunk.push(change);
    records += changeRecords;
    characters += changeCharacters;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
