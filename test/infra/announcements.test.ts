import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { EVENT_SOURCE, EVENT_TYPES } from '../../src/core/certificate-events.js';
import { buildCertLoopApp, TEST_ZONE } from './fixtures/certloop-app.js';
import { actionsOf, type Resource, TemplateQueries } from './fixtures/template-queries.js';

const base = { hostedZones: JSON.stringify([TEST_ZONE]), stekSets: 'tls/tickets' };

function build(context: Record<string, unknown> = {}) {
  const { stack } = buildCertLoopApp({ ...base, ...context }, { bundle: false });
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> };
  return { stack, q: new TemplateQueries(stack, template) };
}

/** The certloop event rules: detail types forwarded to the notice topic. */
function forwarded(q: TemplateQueries): string[] {
  return q
    .ofType('AWS::Events::Rule')
    .map(
      ([, rule]) =>
        rule.Properties?.EventPattern as { source?: string[]; 'detail-type'?: string[] },
    )
    .filter((pattern) => pattern?.source?.includes(EVENT_SOURCE))
    .flatMap((pattern) => pattern['detail-type'] ?? [])
    .sort();
}

describe('certloop events in the stack', () => {
  it('lets the worker, the sweep and the STEK rotation put certloop events on the default bus, and no other function', () => {
    const { stack, q } = build();
    for (const fn of [stack.certloop.worker, stack.certloop.sweep, stack.certloop.rotateStek]) {
      if (!fn) throw new Error('the STEK function is missing');
      const statement = q.statements(fn).find((s) => actionsOf(s).includes('events:PutEvents'));
      expect(statement?.Condition).toEqual({ StringEquals: { 'events:source': EVENT_SOURCE } });
      expect(JSON.stringify(statement?.Resource)).toContain(':event-bus/default');
    }
    for (const fn of [stack.certloop.planner, stack.certloop.renew]) {
      expect(q.actions(fn)).not.toContain('events:PutEvents');
    }
  });

  it('forwards failures and invalid certificates to the notice topic by default', () => {
    const { stack, q } = build();
    expect(forwarded(q)).toEqual([EVENT_TYPES.invalid, EVENT_TYPES.renewalFailed].sort());
    const topicId = q.logicalId(stack.certloop.monitoring.topic);
    for (const [, rule] of q.ofType('AWS::Events::Rule')) {
      const pattern = rule.Properties?.EventPattern as { source?: string[] } | undefined;
      if (!pattern?.source?.includes(EVENT_SOURCE)) continue;
      const [target] = (rule.Properties?.Targets ?? []) as Array<{
        Arn: unknown;
        InputTransformer?: unknown;
      }>;
      expect(target?.Arn).toEqual({ Ref: topicId });
      expect(JSON.stringify(target?.InputTransformer)).toContain('$.detail.secretArn');
    }
  });

  it('forwards every event with notifyOn=all and none with notifyOn=none', () => {
    expect(forwarded(build({ notifyOn: 'all' }).q)).toEqual(Object.values(EVENT_TYPES).sort());
    expect(forwarded(build({ notifyOn: 'none' }).q)).toEqual([]);
  });

  it('refuses an unknown notifyOn at synth, naming the key and the choices', () => {
    expect(() => build({ notifyOn: 'sometimes' })).toThrow(
      /notifyOn.*"sometimes" is not one of none, failures, all/,
    );
  });
});
