/**
 * A host following a renewal the engine made, end to end with nothing simulated: local
 * mode issues the example certificates from its embedded CA (pebble), `certloop cert
 * export` (the command, as a timer runs it) writes `www` for a real nginx, `certloop renew`
 * forces a renewal, the next tick issues it, and the next export writes the new pair and
 * runs `nginx -s reload` once: openssl s_client then sees the new serial. A run after that
 * with nothing new changes no file and runs nothing.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalMode, startLocalMode } from '../support/local-mode.js';
import { eventually, type RunningNginx, servedSerial, startNginx } from '../support/nginx.js';

function snapshot(folder: string): string[] {
  return readdirSync(folder, { recursive: true })
    .map((entry) => {
      const info = lstatSync(join(folder, String(entry)));
      return `${entry} ${info.ino} ${info.mtimeMs}`;
    })
    .sort();
}

/** The serial as the status table and records spell it: upper-case hex without colons. */
const plain = (serial: string | undefined) => (serial ?? '').replace(/:/g, '').toUpperCase();

describe('certloop cert export after a renewal by local mode', () => {
  let local: LocalMode;
  let nginx: RunningNginx | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certloop-export-renewal-'));
    local = await startLocalMode({ name: 'cert-export-local-renewal' });
  });
  afterAll(async () => {
    await nginx?.stop();
    await local?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('nginx serves the exported certificate, and after a forced renewal the next export reloads it once', async () => {
    const out = join(dir, 'tls');
    const reloads = join(dir, 'reloads');
    const issued = await local.waitFor((records) =>
      Boolean(records.find((r) => r.id === 'www')?.current),
    );
    const first = issued.find((r) => r.id === 'www')?.current?.serial;
    expect(first, local.output().slice(-2000)).toBeDefined();

    const exportWww = (onChange: string) =>
      local.certloop(
        'cert',
        'export',
        '--secret',
        'www',
        '--out',
        out,
        '--state-dir',
        local.state,
        '--on-change',
        onChange,
      );
    const initial = await exportWww(`echo first >> ${reloads}`);
    expect(initial.code, initial.stderr).toBe(0);
    expect(initial.stdout.trim().split('\n')).toHaveLength(4);
    nginx = await startNginx({
      prefix: join(dir, 'nginx'),
      certificate: join(out, 'fullchain.pem'),
      key: join(out, 'privkey.pem'),
    });
    expect(await servedSerial(nginx.port, 'www.example.test')).toBe(plain(first));

    const forced = await local.certloop(
      'renew',
      '--secret',
      'www',
      '--reason',
      'export drill',
      '--state-dir',
      local.state,
    );
    expect(forced.code, forced.stderr).toBe(0);
    const renewed = await local.waitFor((records) => {
      const serial = records.find((r) => r.id === 'www')?.current?.serial;
      return serial !== undefined && serial !== first;
    });
    const second = renewed.find((r) => r.id === 'www')?.current?.serial;
    expect(second, local.output().slice(-2000)).not.toBe(first);

    const after = await exportWww(`${nginx.reloadCommand} && echo reload >> ${reloads}`);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout.trim().split('\n')).toHaveLength(4);
    expect(readFileSync(reloads, 'utf8')).toBe('first\nreload\n');
    expect(
      await eventually(() => servedSerial(nginx?.port ?? 0, 'www.example.test'), plain(second)),
    ).toBe(plain(second));

    const before = snapshot(out);
    const quiet = await exportWww(`echo again >> ${reloads}`);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toBe('');
    expect(snapshot(out)).toEqual(before);
    expect(readFileSync(reloads, 'utf8')).toBe('first\nreload\n');
  }, 180_000);
});
