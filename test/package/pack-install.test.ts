/**
 * `npm i certloop` as a user gets it: the package is built and packed from a copy of the
 * sources (so this repository's own dist/ is never touched), installed OFFLINE into a
 * scratch CDK app next to aws-cdk-lib, constructs, cdk-nag and @types/node (a lockfile
 * derived from this repository's, so the npm cache of its `npm ci` holds every tarball),
 * then synthesized with cdk-nag, type-checked, and its `certloop` command run.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocalRecords } from '../../src/local/local-records.js';
import { aRecord } from '../support/record-builder.js';
import { type Lockfile, lockedVersion, scratchLockfile } from './scratch-lockfile.js';

const execFileAsync = promisify(execFile);
const repo = process.cwd();
const CDK_CLI = join(repo, 'node_modules', 'aws-cdk', 'bin', 'cdk');
const TSC = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const logFile = join(repo, 'test', '.logs', `pack-install-${process.pid}.log`);

/** What the build needs, copied to the staging folder (node_modules is linked). */
const PACKAGE_SOURCES = [
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'README.md',
  'CHANGELOG.md',
  'LICENSE',
  'bin',
  'cli',
  'functions',
  'infra',
  'schemas',
  'examples',
  'scripts',
  'src',
];

/** Construct id of each function -> its folder in dist/lambda. */
const FUNCTION_FOLDERS: Record<string, string> = {
  Planner: 'planner',
  Worker: 'worker',
  Sweep: 'sweep',
  Renew: 'renew',
  RotateStek: 'rotate-stek',
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** npm's own variables of a surrounding `npm test` would describe this repository: drop them. */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('npm_package_') && !key.startsWith('npm_lifecycle_'),
    ),
  );
  return { ...env, CDK_DISABLE_CLI_TELEMETRY: 'true', ...extra };
}

async function run(command: string, args: string[], cwd: string, timeoutMs = 180_000) {
  let result: Run;
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      cwd,
      env: childEnv(),
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    result = { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    result = {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: `${e.stderr ?? ''}${typeof e.code === 'string' ? `\n${e.code}` : ''}`,
    };
  }
  mkdirSync(join(repo, 'test', '.logs'), { recursive: true });
  writeFileSync(
    logFile,
    `$ ${command} ${args.join(' ')} (${cwd}) -> ${result.code}\n${result.stdout}${result.stderr}\n`,
    { flag: 'a' },
  );
  return result;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The scratch app; `probe` adds an SQS queue that breaks AwsSolutions rules on purpose. */
const STACK = (
  language: 'js' | 'ts',
  probe = false,
) => `import { App, Stack, Validations } from 'aws-cdk-lib';
${probe ? "import { Queue } from 'aws-cdk-lib/aws-sqs';\n" : ''}import { AwsSolutionsChecks } from 'cdk-nag';
import { CertLoop${language === 'ts' ? ', type CertLoopProps' : ''} } from 'certloop';

const app = new App();
const stack = new Stack(app, 'Scratch', { env: { account: '123456789012', region: 'eu-west-1' } });
const props${language === 'ts' ? ': CertLoopProps' : ''} = {
  hostedZones: [{ hostedZoneId: 'Z0123456789ABCDEFGHIJ', domain: 'example.com' }],
  stekSets: ['scratch/stek/edge'],
  workerMaxConcurrency: 3,
};
const certloop = new CertLoop(stack, 'CertLoop', props);
${language === 'ts' ? 'const workerName: string = certloop.worker.functionName;\nvoid workerName;\n' : ''}${probe ? "// No dead-letter queue, no TLS-only policy: findings the checks must report.\nnew Queue(stack, 'NagProbe');\n" : ''}
// The AwsSolutions checks: any finding the construct neither fixes nor acknowledges fails synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
`;

const WRONG_PROP = `import { App, Stack } from 'aws-cdk-lib';
import { CertLoop } from 'certloop';

const stack = new Stack(new App(), 'Wrong');
new CertLoop(stack, 'CertLoop', { workerMaxConcurrency: 'five' });
`;

describe('the packed certloop, installed offline into a scratch CDK app', () => {
  let work = '';
  let app = '';
  let tarballFiles: string[] = [];
  let synth: Promise<Run>;
  let typecheck: Promise<Run>;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'certloop-pack-'));
    const stage = join(work, 'stage');
    app = join(work, 'app');
    mkdirSync(app);
    for (const item of PACKAGE_SOURCES) {
      cpSync(join(repo, item), join(stage, item), { recursive: true });
    }
    symlinkSync(join(repo, 'node_modules'), join(stage, 'node_modules'), 'dir');

    // npm pack runs prepack (npm run build) in the staging copy.
    const pack = await run(
      'npm',
      ['pack', '--json', '--pack-destination', app, '--foreground-scripts=false'],
      stage,
      240_000,
    );
    const tarball = readdirSync(app).find((name) => name.endsWith('.tgz'));
    if (pack.code !== 0 || !tarball) {
      throw new Error(`npm pack failed (${pack.code}):\n${pack.stdout}\n${pack.stderr}`);
    }
    const packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{
      files: Array<{ path: string }>;
    }>;
    tarballFiles = packed[0]?.files.map((f) => f.path) ?? [];

    const manifest = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8'));
    const repoLock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as Lockfile;
    const dependencies: Record<string, string> = {
      certloop: `file:${tarball}`,
      'aws-cdk-lib': lockedVersion(repoLock, 'aws-cdk-lib'),
      constructs: lockedVersion(repoLock, 'constructs'),
      'cdk-nag': lockedVersion(repoLock, 'cdk-nag'),
      '@types/node': lockedVersion(repoLock, '@types/node'),
    };
    const integrity = `sha512-${createHash('sha512')
      .update(readFileSync(join(app, tarball)))
      .digest('base64')}`;
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'scratch-app', private: true, type: 'module', dependencies }, null, 2)}\n`,
    );
    writeFileSync(
      join(app, 'package-lock.json'),
      `${JSON.stringify(
        scratchLockfile(repoLock, 'scratch-app', dependencies, {
          manifest,
          spec: `file:${tarball}`,
          integrity,
        }),
        null,
        2,
      )}\n`,
    );
    const install = await run(
      'npm',
      ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'],
      app,
    );
    if (install.code !== 0) {
      throw new Error(
        'offline install of the scratch app failed: a package is missing from the npm cache ' +
          '(run `npm ci` in this repository first; npm names the package below):\n' +
          `${install.stdout}\n${install.stderr}`,
      );
    }

    writeFileSync(join(app, 'app.mjs'), STACK('js'));
    writeFileSync(join(app, 'app-nag-probe.mjs'), STACK('js', true));
    writeFileSync(join(app, 'app.ts'), STACK('ts'));
    writeFileSync(join(app, 'wrong-prop.ts'), WRONG_PROP);
    writeFileSync(
      join(app, 'tsconfig.json'),
      `${JSON.stringify(
        {
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            skipLibCheck: true,
            noEmit: true,
            types: ['node'],
          },
          files: ['app.ts', 'wrong-prop.ts'],
        },
        null,
        2,
      )}\n`,
    );
    // The two slow steps run side by side; the tests below await them.
    synth = run(
      process.execPath,
      [
        CDK_CLI,
        'synth',
        '--app',
        'node app.mjs',
        '-o',
        'cdk.out',
        '-q',
        '--strict',
        '--no-notices',
      ],
      app,
    );
    typecheck = run(process.execPath, [TSC, '-p', 'tsconfig.json', '--pretty', 'false'], app);
  }, 420_000);

  afterAll(async () => {
    await Promise.allSettled([synth, typecheck]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships compiled code, the prebuilt bundles, the command and the event schemas, and no tests, fixtures or keys', () => {
    const top = new Set(tarballFiles.map((path) => path.split('/')[0]));
    expect([...top].sort()).toEqual(
      [
        'CHANGELOG.md',
        'LICENSE',
        'README.md',
        'bin',
        'dist',
        'examples',
        'package.json',
        'schemas',
      ].sort(),
    );
    const installed = filesUnder(join(app, 'node_modules', 'certloop')).map((path) =>
      relative(join(app, 'node_modules', 'certloop'), path),
    );
    expect(installed.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
    expect(installed.filter((path) => /(^|\/)(test|fixtures)\/|\.(pem|key)$/.test(path))).toEqual(
      [],
    );
    for (const folder of Object.values(FUNCTION_FOLDERS)) {
      expect(installed).toContain(`dist/lambda/${folder}/index.js`);
    }
    expect(installed).toContain('dist/infra/index.d.ts');
    expect(installed).toContain('schemas/events/certificate-issued.v1.json');
    expect(installed.filter((path) => path.startsWith('examples/'))).toEqual([
      'examples/certloop.local.json',
    ]);
  });

  it('fails that synth on a finding: the same app with a non-compliant queue added', async () => {
    await synth; // one synth at a time on a small machine
    const result = await run(
      process.execPath,
      [
        CDK_CLI,
        'synth',
        '--app',
        'node app-nag-probe.mjs',
        '-o',
        'cdk.out.probe',
        '-q',
        '--strict',
        '--no-notices',
      ],
      app,
    );
    expect(result.code).not.toBe(0);
    const output = `${result.stdout}\n${result.stderr}`;
    expect(output).toMatch(/AwsSolutions-SQS\d+/);
    expect(output).toContain('NagProbe');
    // Every finding names the probe's resource (cdk-nag prints its path under the
    // message): the construct itself stays clean.
    const paths = output
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.startsWith('Scratch/'));
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((line) => !line.startsWith('Scratch/NagProbe/'))).toEqual([]);
  });

  it('installs without tsx: nothing in the scratch app depends on it', () => {
    const hidden = JSON.parse(
      readFileSync(join(app, 'node_modules', '.package-lock.json'), 'utf8'),
    ) as Lockfile;
    expect(Object.keys(hidden.packages).filter((path) => /(^|\/)tsx$/.test(path))).toEqual([]);
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
  });

  it('synthesizes `new CertLoop(...)` from plain JavaScript, cdk-nag clean, with the prebuilt bundle in every function asset', async () => {
    const result = await synth;
    expect(result.code, `cdk synth failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
    const out = join(app, 'cdk.out');
    const template = JSON.parse(readFileSync(join(out, 'Scratch.template.json'), 'utf8')) as {
      Resources: Record<
        string,
        {
          Type: string;
          Metadata?: Record<string, string>;
          Properties: { Handler?: string; Code?: { S3Key?: string } };
        }
      >;
    };
    const functions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    const seen: string[] = [];
    for (const fn of functions) {
      const path = fn.Metadata?.['aws:cdk:path'] ?? '';
      const id = Object.keys(FUNCTION_FOLDERS).find((name) => path.split('/').includes(name));
      if (!id) continue;
      seen.push(id);
      expect(fn.Properties.Handler, path).toBe('index.handler');
      const asset = join(out, `asset.${fn.Properties.Code?.S3Key?.replace(/\.zip$/, '')}`);
      expect(existsSync(join(asset, 'index.js')), `${path}: ${asset}/index.js`).toBe(true);
      expect(readFileSync(join(asset, 'index.js'), 'utf8')).toBe(
        readFileSync(
          join(
            app,
            'node_modules',
            'certloop',
            'dist',
            'lambda',
            `${FUNCTION_FOLDERS[id]}`,
            'index.js',
          ),
          'utf8',
        ),
      );
    }
    expect(seen.sort()).toEqual(Object.keys(FUNCTION_FOLDERS).sort());
  });

  it('type-checks a TypeScript app against the shipped .d.ts, and refuses a prop of the wrong type', async () => {
    const result = await typecheck;
    const errors = result.stdout
      .split('\n')
      .filter((line) => /error TS\d+/.test(line))
      .map((line) => line.trim());
    expect(errors.filter((line) => !line.startsWith('wrong-prop.ts'))).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^wrong-prop\.ts\(5,\d+\): error TS2322: .*'string'.*'number'/);
    expect(result.code).not.toBe(0);
  });

  describe('the `certloop` command', () => {
    it('prints its help', async () => {
      const help = await run(join(app, 'node_modules', '.bin', 'certloop'), ['--help'], app);
      expect(help.code, help.stderr).toBe(0);
      for (const command of ['local', 'status', 'renew', 'stek', 'cert']) {
        expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
      }
    });

    it('reads a local-mode state folder with `status --json` and `status`', async () => {
      const state = join(work, 'state');
      mkdirSync(join(state, 'dynamodb'), { recursive: true });
      const saved = { ...process.env };
      try {
        const local = await openLocalRecords(state);
        await local.records.create(
          aRecord({ id: 'secret/www.example.test', domains: ['www.example.test'] }),
        );
        await local.close();
      } finally {
        for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
        Object.assign(process.env, saved);
      }
      const bin = join(app, 'node_modules', '.bin', 'certloop');
      const json = await run(bin, ['status', '--json', '--state-dir', state], app);
      expect(json.code, json.stderr).toBe(0);
      const records = JSON.parse(json.stdout) as Array<{ id: string; domains: string[] }>;
      expect(records.map((r) => [r.id, r.domains])).toEqual([
        ['secret/www.example.test', ['www.example.test']],
      ]);
      const table = await run(bin, ['status', '--state-dir', state], app);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toContain('www.example.test');
      expect(table.stderr).not.toMatch(/NodeVersionSupportWarning/);
    });

    it('runs `local --once` with no --config from a folder without one (the packaged example)', async () => {
      const state = join(work, 'trial');
      const bin = join(app, 'node_modules', '.bin', 'certloop');
      const once = await run(bin, ['local', '--once', '--state-dir', state], app, 120_000);
      expect(once.code, `${once.stdout}\n${once.stderr}`).toBe(0);
      expect(existsSync(join(app, 'examples'))).toBe(false);
      const example = JSON.parse(
        readFileSync(
          join(app, 'node_modules', 'certloop', 'examples', 'certloop.local.json'),
          'utf8',
        ),
      ) as { certificates: Array<{ name: string }> };
      for (const { name } of example.certificates) {
        expect(
          existsSync(join(state, 'secrets', 'certs', name, 'current', 'fullchain.pem')),
          name,
        ).toBe(true);
      }
    });
  });
});
