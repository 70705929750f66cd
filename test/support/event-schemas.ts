import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { EVENT_TYPES } from '../../src/core/certificate-events.js';

const DIR = join(process.cwd(), 'schemas', 'events');
const FILE_OF: Record<string, string> = {
  [EVENT_TYPES.issued]: 'certificate-issued.v1.json',
  [EVENT_TYPES.renewalFailed]: 'certificate-renewal-failed.v1.json',
  [EVENT_TYPES.invalid]: 'certificate-invalid.v1.json',
  [EVENT_TYPES.stekRotated]: 'stek-rotated.v1.json',
};

const ajv = new Ajv2020({ allErrors: true, strict: true });
const validators = new Map(
  Object.entries(FILE_OF).map(([type, file]) => [
    type,
    ajv.compile(JSON.parse(readFileSync(join(DIR, file), 'utf8'))),
  ]),
);

/** The schema files in the repository (every one must belong to an event type). */
export function schemaFiles(): string[] {
  return readdirSync(DIR).sort();
}

export function schemaFileOf(detailType: string): string | undefined {
  return FILE_OF[detailType];
}

/** The problems of `detail` against the schema of `detailType` ([] when valid). */
export function schemaProblems(detailType: string, detail: unknown): string[] {
  const validate = validators.get(detailType);
  if (!validate) return [`no schema for detail type "${detailType}"`];
  if (validate(detail)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
}
