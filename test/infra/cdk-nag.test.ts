import { type App, type PolicyValidationPluginReport, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import cdkNag from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCertLoopApp, TEST_ISSUERS, TEST_ZONE } from './fixtures/certloop-app.js';
import { buildConsumersApp } from './fixtures/consumers-app.js';
import { buildEmbeddingApp } from './fixtures/embedding-app.js';

interface Acknowledgment {
  path: string;
  id: string;
  reason: unknown;
}

/** Every acknowledgment (Validations.of(x).acknowledge) recorded in the construct tree. */
function acknowledgments(root: IConstruct): Acknowledgment[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, unknown>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

/** The findings the pack reports when acknowledgments are ignored (construct path + rule). */
function rawFindings(app: App): Set<string> {
  const holder = Validations as unknown as { ACKNOWLEDGED_RULES_METADATA_KEY: string };
  const key = holder.ACKNOWLEDGED_RULES_METADATA_KEY;
  holder.ACKNOWLEDGED_RULES_METADATA_KEY = 'certloop-test:no-acknowledgments';
  try {
    const report = new cdkNag.AwsSolutionsChecks().validateScope(app);
    return new Set(
      report.violations.flatMap((violation) =>
        violation.violatingResources.map((r) => `${r.constructPath} ${violation.ruleName}`),
      ),
    );
  } finally {
    holder.ACKNOWLEDGED_RULES_METADATA_KEY = key;
  }
}

function describeViolations(report: PolicyValidationPluginReport): string[] {
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}`,
    ),
  );
}

// The checks read the CloudFormation resources only: bundling the functions is skipped.
const apps = {
  'the certloop stack': () =>
    buildCertLoopApp({ hostedZones: JSON.stringify([TEST_ZONE]) }, { bundle: false }),
  'the embedding app': () => buildEmbeddingApp({ bundle: false }),
  'the certloop stack with issuers from context (one with EAB)': () =>
    buildCertLoopApp(
      { hostedZones: JSON.stringify([TEST_ZONE]), issuers: JSON.stringify(TEST_ISSUERS) },
      { bundle: false },
    ),
  'the consumers app (ExportToInstances, RedeployEcsService)': () =>
    buildConsumersApp({ bundle: false }),
};

describe.each(Object.entries(apps))('AwsSolutions checks on %s', (_, build) => {
  let app: App;
  let pack: InstanceType<typeof cdkNag.AwsSolutionsChecks>;

  beforeAll(() => {
    app = build().app;
    pack = new cdkNag.AwsSolutionsChecks(app);
    Validations.of(app).addPlugins(pack);
  });

  it('find no unacknowledged error or warning', () => {
    const report = pack.validateScope(app);
    expect(describeViolations(report)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('let the app synthesize with the checks registered (any finding would stop it)', () => {
    expect(() => app.synth()).not.toThrow();
  });

  it('leave no warning or error annotation on any stack', () => {
    const stacks = app.node.children.filter((child) => Stack.isStack(child));
    expect(stacks).toHaveLength(1);
    for (const stack of stacks) {
      const annotations = Annotations.fromStack(stack);
      expect(annotations.findError('*', Match.anyValue())).toEqual([]);
      expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
    }
  });

  it('acknowledge findings only with a reason that says why it is safe', () => {
    const acks = acknowledgments(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id, ack.path).toMatch(/^AwsSolutions-[A-Z0-9]+(\[.+\])?$/);
      expect(typeof ack.reason, `${ack.path} ${ack.id}`).toBe('string');
      expect((ack.reason as string).trim().length, `${ack.path} ${ack.id}`).toBeGreaterThan(60);
    }
  });

  it('acknowledge only findings that exist, each on the construct that has it', () => {
    const findings = rawFindings(app);
    for (const ack of acknowledgments(app)) {
      const matched = [...findings].some(
        (finding) =>
          finding.endsWith(` ${ack.id}`) &&
          (finding.startsWith(`${ack.path} `) || finding.startsWith(`${ack.path}/`)),
      );
      expect(matched, `${ack.id} at ${ack.path} acknowledges no finding`).toBe(true);
    }
  });
});
