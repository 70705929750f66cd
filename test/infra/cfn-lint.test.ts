import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCertLoopApp, TEST_ISSUERS, TEST_ZONE } from './fixtures/certloop-app.js';
import { buildConsumersApp } from './fixtures/consumers-app.js';
import { buildEmbeddingApp } from './fixtures/embedding-app.js';

const MISSING = 'cfn-lint is missing: pip install cfn-lint';

interface LintMatch {
  Filename: string;
  Level: string;
  Message: string;
  Rule: { Id: string };
  Location: { Path?: Array<string | number> };
}

/** cfn-lint's findings for the templates, in one run (its start-up takes seconds). */
function lint(templates: string[]): LintMatch[] {
  const run = spawnSync('cfn-lint', ['--format', 'json', '--', ...templates], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw new Error(MISSING);
  // Exit status: 0 clean, else a bit mask of the levels found (2 error, 4 warning, 8 info).
  if (run.stdout.trim() === '') {
    if (run.status === 0) return [];
    throw new Error(`cfn-lint failed (status ${run.status}): ${run.stderr}`);
  }
  return JSON.parse(run.stdout) as LintMatch[];
}

function format(match: LintMatch): string {
  return `${match.Level} ${match.Rule.Id} ${match.Location.Path?.join('/') ?? ''}: ${match.Message}`;
}

const root = mkdtempSync(join(tmpdir(), 'certloop-cfn-lint-'));
const outdirs = {
  'the certloop stack': join(root, 'certloop'),
  'the embedding app': join(root, 'embedding'),
  'the certloop stack with issuers from context (one with EAB)': join(root, 'issuers'),
  'the consumers app (ExportToInstances, RedeployEcsService)': join(root, 'consumers'),
};
/** A template with a known error, so that a lint run that reports nothing is noticed. */
const brokenTemplate = join(root, 'broken.template.json');

let matches: LintMatch[] = [];
let missing = false;

beforeAll(() => {
  // The templates are what is linted; bundling the functions would only change asset hashes.
  buildCertLoopApp(
    { hostedZones: JSON.stringify([TEST_ZONE]) },
    { outdir: outdirs['the certloop stack'], bundle: false },
  ).app.synth();
  buildEmbeddingApp({ outdir: outdirs['the embedding app'], bundle: false }).app.synth();
  buildCertLoopApp(
    { hostedZones: JSON.stringify([TEST_ZONE]), issuers: JSON.stringify(TEST_ISSUERS) },
    {
      outdir: outdirs['the certloop stack with issuers from context (one with EAB)'],
      bundle: false,
    },
  ).app.synth();
  buildConsumersApp({
    outdir: outdirs['the consumers app (ExportToInstances, RedeployEcsService)'],
    bundle: false,
  }).app.synth();
  writeFileSync(
    brokenTemplate,
    JSON.stringify({
      Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 'soon' } } },
    }),
  );
  const templates = Object.values(outdirs).flatMap((dir) =>
    readdirSync(dir)
      .filter((name) => name.endsWith('.template.json'))
      .map((name) => join(dir, name)),
  );
  try {
    matches = lint([...templates, brokenTemplate]);
  } catch (error) {
    if ((error as Error).message !== MISSING) throw error;
    missing = true;
  }
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function requireCfnLint(): void {
  if (missing) throw new Error(MISSING);
}

describe('cfn-lint', () => {
  it('is installed and reports errors (checked on a broken template)', () => {
    requireCfnLint();
    const broken = matches.filter((m) => m.Filename === brokenTemplate && m.Level === 'Error');
    expect(broken.map((m) => m.Rule.Id)).toContain('E3012');
  });

  it.each(Object.entries(outdirs))('finds no error in %s', (_, outdir) => {
    requireCfnLint();
    const templates = readdirSync(outdir).filter((name) => name.endsWith('.template.json'));
    expect(templates.length).toBeGreaterThan(0);
    const own = matches.filter((m) => m.Filename.startsWith(outdir));
    const warnings = own.filter((m) => m.Level !== 'Error');
    if (warnings.length > 0) {
      console.info(`cfn-lint warnings in ${outdir}:\n${warnings.map(format).join('\n')}`);
    }
    expect(own.filter((m) => m.Level === 'Error').map(format)).toEqual([]);
  });
});
