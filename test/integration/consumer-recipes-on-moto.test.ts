// The consumer recipes of issue 16 against real peers. (a) The Certificate Issued rule as
// synthesized, put on moto's default bus with an SQS target, delivers the configured secret's
// event and no other. (b) The script ExportToInstances has Run Command run, filled in the
// way the rule's input transformer fills it, runs under sh and bash with the real
// `certloop` (bin/certloop.mjs) against Secrets Manager on moto: the configured secret is
// exported and --on-change runs; hostile event ARNs exit 64 and run nothing. (c) The
// UpdateService request RedeployEcsService's target sends is accepted by ECS on moto.

import { spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SignatureV4 } from '@smithy/signature-v4';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportToInstances, RedeployEcsService, UNKNOWN_SECRET_EXIT } from '../../infra/index.js';
import { SecretsManagerCertificates } from '../../src/adapters/aws/secrets-manager-certificates.js';
import { EVENT_SOURCE, EVENT_TYPES } from '../../src/core/certificate-events.js';
import { SKIP_BUNDLING } from '../infra/fixtures/certloop-app.js';
import {
  certificateIssuedEvent,
  hostileArns,
  type InputTransformer,
  runShellScriptFor,
} from '../infra/fixtures/run-command-input.js';
import { routeEventsToQueue } from '../support/event-queue.js';
import { type MotoEnv, useMotoEnv } from '../support/moto.js';
import { makeTestBundle } from '../support/test-certificates.js';

const SHELLS = ['sh', 'bash'] as const;

interface RuleResource {
  Type: string;
  Properties: {
    EventPattern: unknown;
    Targets: Array<{ Input?: string; InputTransformer?: InputTransformer }>;
  };
}

/** The stack a deployer would write, around the secrets on moto; its synthesized rules. */
function synthesize(webArn: string, outDir: string, onChange: string) {
  const stack = new Stack(new App({ context: SKIP_BUNDLING }), 'Consumers', {
    env: { account: '123456789012', region: 'us-east-1' },
  });
  const fleet = new ExportToInstances(stack, 'Fleet', {
    exports: [{ secret: webArn, outDir }],
    instances: { tag: { key: 'role', values: ['web'] } },
    onChange,
  });
  const redeploy = new RedeployEcsService(stack, 'Redeploy', {
    secrets: [webArn],
    service: { cluster: 'platform', serviceName: 'frontend' },
  });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, RuleResource>;
  const ruleOf = (rule: { node: { defaultChild?: unknown } }) =>
    resources[stack.getLogicalId(rule.node.defaultChild as never)];
  return { fleet: ruleOf(fleet.rule), redeploy: ruleOf(redeploy.rule) };
}

/** A JSON-protocol AWS request, signed with SigV4 as the SDK would sign it. */
async function awsJson(
  endpoint: string,
  service: string,
  target: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const url = new URL(endpoint);
  class Sha256 {
    private readonly hash;
    constructor(secret?: unknown) {
      this.hash =
        secret === undefined
          ? createHash('sha256')
          : createHmac('sha256', Buffer.from(secret as Uint8Array));
    }
    update(data: Uint8Array | string) {
      this.hash.update(data);
    }
    async digest() {
      return new Uint8Array(this.hash.digest());
    }
  }
  const signer = new SignatureV4({
    service,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '',
    },
    sha256: Sha256,
  });
  const text = JSON.stringify(body);
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: {},
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': target,
    },
    body: text,
  });
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: signed.headers as Record<string, string>,
    body: text,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const ECS_TARGET = 'AmazonEC2ContainerServiceV20141113';

describe('consumer recipes on moto', () => {
  let moto: MotoEnv;
  let dir = '';
  let webArn = '';
  let otherArn = '';
  let bin = '';
  let calls = '';

  beforeAll(async () => {
    moto = await useMotoEnv();
    dir = await mkdtemp(join(tmpdir(), 'certloop-consumers-'));
    const sm = new SecretsManagerClient({});
    const certificates = new SecretsManagerCertificates(sm);
    for (const name of ['web', 'other']) {
      const created = await sm.send(new CreateSecretCommand({ Name: `tls/${name}` }));
      const bundle = await makeTestBundle([`${name}.example.test`], 'ec-p256', {
        issuedBy: 'test-ca',
      });
      await certificates.writeCertificate(created.ARN ?? '', bundle, `issue-${name}`);
      if (name === 'web') webArn = created.ARN ?? '';
      else otherArn = created.ARN ?? '';
    }
    // `certloop` on the agent's PATH: the real command, noting each call.
    bin = join(dir, 'bin');
    calls = join(dir, 'certloop-calls');
    spawnSync('mkdir', ['-p', bin]);
    writeFileSync(
      join(bin, 'certloop'),
      `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${process.execPath}' '${join(process.cwd(), 'bin', 'certloop.mjs')}' "$@"\n`,
    );
    chmodSync(join(bin, 'certloop'), 0o755);
  });
  afterAll(async () => {
    await moto?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('(a) the synthesized rule delivers Certificate Issued of a configured secret, and nothing for another secret or a hostile ARN', async () => {
    const { fleet } = synthesize(webArn, join(dir, 'unused'), 'true');
    const queue = await routeEventsToQueue('certloop-export', fleet?.Properties.EventPattern);
    const events = new EventBridgeClient({});
    const put = (secretArn: string, detailType: string = EVENT_TYPES.issued) => ({
      Source: EVENT_SOURCE,
      DetailType: detailType,
      Detail: JSON.stringify({ version: '1', secretArn, serial: '01' }),
    });
    const hostile = hostileArns(webArn, join(dir, 'pwned')).filter((arn) => arn !== '');
    const entries = [
      put(otherArn),
      put(webArn, EVENT_TYPES.renewalFailed),
      ...hostile.map((arn) => put(arn)),
      put(webArn),
    ];
    for (let i = 0; i < entries.length; i += 10) {
      const sent = await events.send(new PutEventsCommand({ Entries: entries.slice(i, i + 10) }));
      expect(sent.FailedEntryCount).toBe(0);
    }
    const delivered = (await queue.receiveAll()) as Array<{
      'detail-type': string;
      detail: { secretArn: string };
    }>;
    expect(delivered.map((e) => [e['detail-type'], e.detail.secretArn])).toEqual([
      [EVENT_TYPES.issued, webArn],
    ]);
  });

  describe.each(SHELLS)('(b) the Run Command script under %s', (shell) => {
    /** The script Run Command would run for each event, filled in and run by `shell`. */
    function scriptFor(outDir: string, onChange: string) {
      const { fleet } = synthesize(webArn, outDir, onChange);
      const transformer = fleet?.Properties.Targets[0]?.InputTransformer as InputTransformer;
      return (secretArn: string) => {
        const script = join(dir, `${shell}-script.sh`);
        writeFileSync(script, runShellScriptFor(transformer, certificateIssuedEvent(secretArn)));
        writeFileSync(calls, '');
        return spawnSync(shell, [script], {
          encoding: 'utf8',
          cwd: dir,
          env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
        });
      };
    }

    it('exports the configured secret from Secrets Manager and runs --on-change', () => {
      const out = join(dir, `${shell}-tls`);
      const changed = join(dir, `${shell}-changed`);
      const run = scriptFor(out, `echo reloaded >> '${changed}'`)(webArn);
      expect(run.status, run.stderr).toBe(0);
      expect(readFileSync(calls, 'utf8')).toBe(
        `cert export --secret ${webArn} --aws --out ${out} --on-change echo reloaded >> '${changed}'\n`,
      );
      expect(readFileSync(join(out, 'cert.pem'), 'utf8')).toMatch(/BEGIN CERTIFICATE/);
      expect(existsSync(join(out, 'privkey.pem'))).toBe(true);
      expect(readFileSync(changed, 'utf8')).toBe('reloaded\n');
    });

    it('for a secret it does not export, or a hostile ARN, exits 64 and runs nothing', () => {
      const marker = join(dir, `${shell}-pwned`);
      const out = join(dir, `${shell}-refused`);
      const runFor = scriptFor(out, `touch '${marker}'`);
      for (const arn of [otherArn, ...hostileArns(webArn, marker)]) {
        const run = runFor(arn);
        expect(run.status, JSON.stringify(arn)).toBe(UNKNOWN_SECRET_EXIT);
        expect(run.stdout, JSON.stringify(arn)).toMatch(/^certloop: the event names/);
        expect(existsSync(marker), JSON.stringify(arn)).toBe(false);
        expect(existsSync(out), JSON.stringify(arn)).toBe(false);
        expect(readFileSync(calls, 'utf8'), JSON.stringify(arn)).toBe('');
      }
    });
  });

  it('(c) the UpdateService request of RedeployEcsService is one ECS (moto) accepts for that service', async () => {
    const { redeploy } = synthesize(webArn, join(dir, 'unused'), 'true');
    const input = JSON.parse(redeploy?.Properties.Targets[0]?.Input ?? '{}') as {
      service: string;
      action: string;
      parameters: Record<string, unknown>;
    };
    expect(input).toMatchObject({ service: 'ECS', action: 'updateService' });
    const ecs = (action: string, body: unknown) =>
      awsJson(moto.endpoint, 'ecs', `${ECS_TARGET}.${action}`, body);
    expect((await ecs('CreateCluster', { clusterName: 'platform' })).status).toBe(200);
    const registered = await ecs('RegisterTaskDefinition', {
      family: 'frontend',
      containerDefinitions: [{ name: 'nginx', image: 'nginx', memory: 128 }],
    });
    expect(registered.status).toBe(200);
    const created = await ecs('CreateService', {
      cluster: 'platform',
      serviceName: 'frontend',
      taskDefinition: 'frontend',
      desiredCount: 1,
    });
    expect(created.status).toBe(200);
    // The AwsApi function passes `parameters` to the SDK's UpdateServiceCommand as they
    // are; ECS's JSON protocol uses the same member names, so they are the request body.
    const updated = await ecs('UpdateService', input.parameters);
    expect(updated.status, JSON.stringify(updated.json)).toBe(200);
    const service = updated.json.service as { serviceName: string; clusterArn: string };
    expect(service.serviceName).toBe('frontend');
    expect(service.clusterArn).toMatch(/cluster\/platform$/);
  });
});
