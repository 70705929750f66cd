// Behaviour of DirectorySecretStore that the port contract does not cover: the files on
// disk, their modes, the atomic `current` swap, crash recovery and folder names.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import fc from 'fast-check';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toFolderName } from '../../src/adapters/local/directory-files.js';
import { DirectorySecretStore } from '../../src/adapters/local/directory-secret-store.js';
import { CertloopError } from '../../src/core/errors.js';
import type { CertificateBundle } from '../../src/ports/secret-store.js';
import { linesWithKeyMaterial } from '../support/key-material-patterns.js';
import { ManualClock } from '../support/manual-clock.js';
import {
  certificateMatchesKey,
  keyDigest,
  makeTestBundle,
  makeTestKey,
} from '../support/test-certificates.js';

const SECRET = 'www-example';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:certloop/www-Ab12Cd';

let root: string;
let store: DirectorySecretStore;
let bundles: CertificateBundle[];

function view(bundle: CertificateBundle | undefined) {
  if (!bundle) return undefined;
  const { privateKey, ...rest } = bundle;
  return { ...rest, key: keyDigest(privateKey) };
}

function bundle(index: number): CertificateBundle {
  const found = bundles[index];
  if (!found) throw new Error(`no test bundle ${index}`);
  return found;
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

/** What a writer that crashed right after renaming its version folder leaves behind. */
async function writeVersionByHand(versionDir: string, source: CertificateBundle, token: string) {
  await mkdir(versionDir, { recursive: true, mode: 0o700 });
  await writeFile(join(versionDir, 'privkey.pem'), source.privateKey.reveal(), { mode: 0o600 });
  await writeFile(join(versionDir, 'cert.pem'), source.certificate);
  await writeFile(join(versionDir, 'chain.pem'), source.chain);
  await writeFile(join(versionDir, 'fullchain.pem'), source.fullchain);
  const { privateKey: _key, certificate: _c, chain: _ch, fullchain: _f, ...metadata } = source;
  await writeFile(
    join(versionDir, 'cert.json'),
    JSON.stringify({ ...metadata, idempotencyToken: token, writtenAt: new Date().toISOString() }),
  );
}

/** Error text a person or a log could see: message, stack, causes, JSON. */
function visibleText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    parts.push(String(current), current.stack ?? '', JSON.stringify(current));
    current = current.cause;
  }
  return parts.join('\n');
}

beforeAll(async () => {
  bundles = await Promise.all(
    Array.from({ length: 22 }, (_, index) => makeTestBundle([`v${index}.swap.example`])),
  );
});

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'certloop-directory-store-'));
  store = new DirectorySecretStore({ root });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('DirectorySecretStore on disk', () => {
  it('writes the documented layout with relative links and a key-free cert.json', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 23, 9, 0, 0));
    store = new DirectorySecretStore({ root, clock });
    await store.writeCertificate(SECRET, bundle(0), 'token-0');
    await store.writeCertificate(SECRET, bundle(1), 'token-1');

    const certDir = join(root, 'certs', SECRET);
    expect(store.certificateDirectory(SECRET)).toBe(certDir);
    expect((await lstat(join(certDir, 'current'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(certDir, 'current'))).toBe('versions/token-1');
    expect(await readlink(join(certDir, 'previous'))).toBe('versions/token-0');

    const current = join(certDir, 'current');
    expect(await readFile(join(current, 'fullchain.pem'), 'utf8')).toBe(bundle(1).fullchain);
    expect(await readFile(join(current, 'cert.pem'), 'utf8')).toBe(bundle(1).certificate);
    expect(await readFile(join(current, 'chain.pem'), 'utf8')).toBe(bundle(1).chain);
    const key = await readFile(join(current, 'privkey.pem'), 'utf8');
    expect(key === bundle(1).privateKey.reveal()).toBe(true);

    const metadataText = await readFile(join(current, 'cert.json'), 'utf8');
    expect(linesWithKeyMaterial(metadataText)).toEqual([]);
    expect(JSON.parse(metadataText)).toEqual({
      domains: bundle(1).domains,
      serial: bundle(1).serial,
      notBefore: bundle(1).notBefore,
      notAfter: bundle(1).notAfter,
      issuer: bundle(1).issuer,
      keyType: 'ec-p256',
      idempotencyToken: 'token-1',
      writtenAt: '2026-11-23T09:00:00.000Z',
    });
  });

  it('gives private keys mode 0600 and the folders holding them mode 0700', async () => {
    await store.writeCertificate(SECRET, bundle(0), 'token-0');
    await store.stagePendingKey(SECRET, 'attempt-1', makeTestKey());
    await store.getOrCreateAccountKey({ directoryUrl: 'https://acme.example/dir' }, async () =>
      makeTestKey(),
    );

    const certDir = join(root, 'certs', SECRET);
    const versionDir = join(certDir, 'versions', 'token-0');
    expect(await modeOf(join(versionDir, 'privkey.pem'))).toBe(0o600);
    for (const dir of [root, join(root, 'certs'), certDir, join(certDir, 'versions'), versionDir]) {
      expect(await modeOf(dir)).toBe(0o700);
    }
    expect(await modeOf(join(root, 'pending'))).toBe(0o700);
    expect(await modeOf(join(root, 'pending', SECRET))).toBe(0o700);
    expect(await modeOf(join(root, 'pending', SECRET, 'attempt-1.key'))).toBe(0o600);
    const accounts = join(root, 'accounts');
    expect(await modeOf(accounts)).toBe(0o700);
    const accountFiles = await readdir(accounts);
    expect(accountFiles).toHaveLength(1);
    expect(accountFiles[0]).toMatch(/^[0-9a-f]{64}\.key$/);
    expect(await modeOf(join(accounts, accountFiles[0] ?? ''))).toBe(0o600);
  });

  it('keeps only the current and previous version folders after several writes', async () => {
    for (let index = 0; index < 6; index += 1) {
      await store.writeCertificate(SECRET, bundle(index), `token-${index}`);
    }
    const versions = await readdir(join(root, 'certs', SECRET, 'versions'));
    expect(versions.sort()).toEqual(['token-4', 'token-5']);
    expect(view(await store.readCertificate(SECRET, 'previous'))).toEqual(view(bundle(4)));
  });

  it('leaves no temp files behind after staging keys and creating account keys', async () => {
    await store.stagePendingKey(SECRET, 'attempt-1', makeTestKey());
    const replacement = makeTestKey();
    await store.stagePendingKey(SECRET, 'attempt-1', replacement);
    expect((await store.readPendingKey(SECRET, 'attempt-1'))?.equals(replacement)).toBe(true);
    expect(await readdir(join(root, 'pending', SECRET))).toEqual(['attempt-1.key']);

    await store.getOrCreateAccountKey({ directoryUrl: 'https://acme.example/dir' }, async () =>
      makeTestKey(),
    );
    const accountFiles = await readdir(join(root, 'accounts'));
    expect(accountFiles.filter((file) => !file.endsWith('.key'))).toEqual([]);
  });
});

describe('DirectorySecretStore atomic swap', () => {
  it('a reader that resolves current once never sees a mismatched pair during 20 writes', async () => {
    const certDir = join(root, 'certs', SECRET);
    await store.writeCertificate(SECRET, bundle(0), 'token-0');

    let writing = true;
    const writer = (async () => {
      try {
        for (let index = 1; index <= 20; index += 1) {
          await store.writeCertificate(SECRET, bundle(index), `token-${index}`);
          await nextTurn();
        }
      } finally {
        writing = false;
      }
    })();

    let reads = 0;
    let mismatches = 0;
    let currentMissing = 0;
    let currentIncomplete = 0;
    const serialsSeen = new Set<string>();
    const current = join(certDir, 'current');
    while ((writing || reads < 200) && currentMissing + currentIncomplete < 50) {
      // The documented way to read a pair: resolve `current` once (a relative link, so
      // readlink + join is its realpath) and read both files from that version folder.
      let target: string;
      try {
        target = await readlink(current);
      } catch {
        currentMissing += 1;
        await nextTurn();
        continue;
      }
      const versionDir = join(certDir, target);
      try {
        const fullchain = await readFile(join(versionDir, 'fullchain.pem'), 'utf8');
        await nextTurn();
        const key = await readFile(join(versionDir, 'privkey.pem'), 'utf8');
        const certificate = new X509Certificate(fullchain);
        if (!certificate.checkPrivateKey(createPrivateKey(key))) mismatches += 1;
        serialsSeen.add(certificate.serialNumber);
        reads += 1;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        // Fine only if the version was pruned, which never happens to the current one:
        // then `current` has moved on and the reader resolves again.
        if ((await readlink(current).catch(() => undefined)) === target) currentIncomplete += 1;
      }
      await nextTurn();
    }
    await writer;

    expect({ mismatches, currentMissing, currentIncomplete }).toEqual({
      mismatches: 0,
      currentMissing: 0,
      currentIncomplete: 0,
    });
    expect(reads).toBeGreaterThanOrEqual(200);
    // The reader really ran while versions changed under it.
    expect(serialsSeen.size).toBeGreaterThan(1);
    expect(view(await store.readCertificate(SECRET))).toEqual(view(bundle(20)));
  });

  it('readCertificate always returns a matching pair while writes happen', async () => {
    await store.writeCertificate(SECRET, bundle(0), 'token-0');
    let writing = true;
    const writer = (async () => {
      try {
        for (let index = 1; index <= 20; index += 1) {
          await store.writeCertificate(SECRET, bundle(index), `token-${index}`);
        }
      } finally {
        writing = false;
      }
    })();
    let reads = 0;
    const serialsSeen = new Set<string>();
    while (writing || reads < 50) {
      for (const stage of ['current', 'previous'] as const) {
        const read = await store.readCertificate(SECRET, stage);
        if (!read) continue;
        expect(certificateMatchesKey(read.fullchain, read.privateKey)).toBe(true);
        if (stage === 'current') serialsSeen.add(read.serial);
      }
      reads += 1;
    }
    await writer;
    expect(serialsSeen.size).toBeGreaterThan(1);
  });
});

describe('DirectorySecretStore idempotency and crash recovery', () => {
  it('finishes the swap when a crash left the version folder renamed in but unpublished', async () => {
    const certDir = join(root, 'certs', SECRET);
    await store.writeCertificate(SECRET, bundle(0), 'token-0');
    await writeVersionByHand(join(certDir, 'versions', 'token-1'), bundle(1), 'token-1');
    // Not visible before the swap.
    expect(view(await store.readCertificate(SECRET))).toEqual(view(bundle(0)));

    expect(await store.writeCertificate(SECRET, bundle(1), 'token-1')).toMatchObject({
      created: false,
    });
    expect(await readlink(join(certDir, 'current'))).toBe('versions/token-1');
    expect(view(await store.readCertificate(SECRET, 'current'))).toEqual(view(bundle(1)));
    expect(view(await store.readCertificate(SECRET, 'previous'))).toEqual(view(bundle(0)));
    expect(await store.writeCertificate(SECRET, bundle(1), 'token-1')).toMatchObject({
      created: false,
    });
  });

  it('on recovery the bundle first stored under the token wins over the retried one', async () => {
    const certDir = join(root, 'certs', SECRET);
    await store.writeCertificate(SECRET, bundle(0), 'token-0');
    await writeVersionByHand(join(certDir, 'versions', 'token-1'), bundle(1), 'token-1');
    await store.writeCertificate(SECRET, bundle(2), 'token-1');
    expect(view(await store.readCertificate(SECRET))).toEqual(view(bundle(1)));
  });

  it('recovers from a crash between the previous swap and the current swap', async () => {
    const certDir = join(root, 'certs', SECRET);
    await store.writeCertificate(SECRET, bundle(0), 'token-0');
    await store.writeCertificate(SECRET, bundle(1), 'token-1');
    await writeVersionByHand(join(certDir, 'versions', 'token-2'), bundle(2), 'token-2');
    await unlink(join(certDir, 'previous'));
    await symlink('versions/token-1', join(certDir, 'previous'));
    // Both links on the old version: still a valid pair for readers.
    expect(view(await store.readCertificate(SECRET, 'previous'))).toEqual(view(bundle(1)));

    expect(await store.writeCertificate(SECRET, bundle(2), 'token-2')).toMatchObject({
      created: false,
    });
    expect(view(await store.readCertificate(SECRET, 'current'))).toEqual(view(bundle(2)));
    expect(view(await store.readCertificate(SECRET, 'previous'))).toEqual(view(bundle(1)));
    expect((await readdir(join(certDir, 'versions'))).sort()).toEqual(['token-1', 'token-2']);
  });

  it('a late retry of the previous token does not roll current back', async () => {
    await store.writeCertificate(SECRET, bundle(0), 'token-0');
    await store.writeCertificate(SECRET, bundle(1), 'token-1');
    expect(await store.writeCertificate(SECRET, bundle(0), 'token-0')).toMatchObject({
      created: false,
    });
    expect(view(await store.readCertificate(SECRET, 'current'))).toEqual(view(bundle(1)));
    expect(view(await store.readCertificate(SECRET, 'previous'))).toEqual(view(bundle(0)));
  });

  it('an orphaned version is pruned by the next write with another token', async () => {
    const certDir = join(root, 'certs', SECRET);
    await store.writeCertificate(SECRET, bundle(0), 'token-0');
    await writeVersionByHand(join(certDir, 'versions', 'token-lost'), bundle(1), 'token-lost');
    await store.writeCertificate(SECRET, bundle(2), 'token-2');
    expect((await readdir(join(certDir, 'versions'))).sort()).toEqual(['token-0', 'token-2']);
    expect(view(await store.readCertificate(SECRET, 'previous'))).toEqual(view(bundle(0)));
  });

  it('removes stale temp folders of crashed writers and keeps fresh ones', async () => {
    const versions = join(root, 'certs', SECRET, 'versions');
    await store.writeCertificate(SECRET, bundle(0), 'token-0');
    const stale = join(versions, '+tmp-stale');
    const fresh = join(versions, '+tmp-fresh');
    await mkdir(stale);
    await writeFile(join(stale, 'privkey.pem'), 'half');
    await mkdir(fresh);
    const anHourAgo = new Date(Date.now() - 60 * 60 * 1000);
    await utimes(stale, anHourAgo, anHourAgo);
    await store.writeCertificate(SECRET, bundle(1), 'token-1');
    expect((await readdir(versions)).sort()).toEqual(['+tmp-fresh', 'token-0', 'token-1']);
  });

  it('concurrent writes to one secret through one store are applied one after another', async () => {
    const results = await Promise.all(
      [0, 1, 2, 1].map((index) => store.writeCertificate(SECRET, bundle(index), `token-${index}`)),
    );
    expect(results.map((result) => result.created)).toEqual([true, true, true, false]);
    expect(view(await store.readCertificate(SECRET, 'current'))).toEqual(view(bundle(2)));
    expect(view(await store.readCertificate(SECRET, 'previous'))).toEqual(view(bundle(1)));
  });

  it('two stores on one root (two processes) agree on a single account key', async () => {
    const other = new DirectorySecretStore({ root });
    let generated = 0;
    const generate = async () => {
      generated += 1;
      await nextTurn();
      return makeTestKey();
    };
    const keys = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        (index % 2 === 0 ? store : other).getOrCreateAccountKey(
          { directoryUrl: 'https://acme.example/d' },
          generate,
        ),
      ),
    );
    expect(new Set(keys.map(keyDigest)).size).toBe(1);
    // One creation per store instance at most: each shares its own in-flight creation.
    expect(generated).toBeLessThanOrEqual(2);
    const files = await readdir(join(root, 'accounts'));
    expect(files).toHaveLength(1);
  });
});

describe('DirectorySecretStore folder names', () => {
  it('keeps plain names readable and encodes ":" and "/" into one safe path component', () => {
    expect(toFolderName('www-example')).toBe('www-example');
    expect(toFolderName('v1.2_x-Y')).toBe('v1.2_x-Y');
    const arnName = toFolderName(ARN);
    expect(arnName).not.toMatch(/[/:]/);
    expect(arnName).toBe(
      'arn%3Aaws%3Asecretsmanager%3Aeu-west-1%3A123456789012%3Asecret%3Acertloop%2Fwww-Ab12Cd',
    );
  });

  it('maps look-alike ids to distinct folders', () => {
    const ids = ['a/b', 'a:b', 'a%2Fb', 'a%3Ab', 'a_b', 'a b', 'a+b', 'a~b', 'A/b', 'a//b'];
    const names = ids.map((id) => toFolderName(id));
    expect(new Set(names).size).toBe(ids.length);
  });

  it('is injective and filesystem-safe for any string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }), (id) => {
        fc.pre(id !== '.' && id !== '..');
        const name = toFolderName(id);
        expect(name).toMatch(/^(?:[A-Za-z0-9._-]|%[0-9A-F]{2})+$/);
        expect(decodeURIComponent(name)).toBe(id);
      }),
    );
  });

  it('hashes ids that would make too long a name', () => {
    const long = `arn:${'x'.repeat(300)}`;
    const name = toFolderName(long);
    expect(name).toMatch(/^\+sha256-[0-9a-f]{64}$/);
    expect(toFolderName(`${long}y`)).not.toBe(name);
  });

  it('rejects empty, "." and ".." as permanent errors', () => {
    for (const id of ['', '.', '..']) {
      expect(() => toFolderName(id)).toThrow(CertloopError);
      try {
        toFolderName(id);
      } catch (error) {
        expect((error as CertloopError).kind).toBe('permanent');
      }
    }
    expect(() => toFolderName('\ud800')).toThrow(CertloopError);
  });

  it('stores ids with ":" and "/" in distinct folders directly under certs/', async () => {
    const ids = [ARN, 'team/a:b', 'team%2Fa%3Ab', `arn:${'y'.repeat(300)}`];
    for (const [index, id] of ids.entries()) {
      await store.writeCertificate(id, bundle(index), `token:${index}/x`);
      await store.stagePendingKey(id, 'attempt/1', makeTestKey());
    }
    const folders = await readdir(join(root, 'certs'));
    expect(folders.sort()).toEqual(ids.map((id) => toFolderName(id)).sort());
    for (const [index, id] of ids.entries()) {
      expect(view(await store.readCertificate(id))).toEqual(view(bundle(index)));
      expect(await readlink(join(root, 'certs', toFolderName(id), 'current'))).toBe(
        `versions/${toFolderName(`token:${index}/x`)}`,
      );
    }
    expect((await readdir(join(root, 'pending'))).length).toBe(ids.length);
  });
});

describe('DirectorySecretStore errors', () => {
  async function rootIsAFile(): Promise<string> {
    const file = join(root, 'not-a-folder');
    await writeFile(file, 'plain file');
    store = new DirectorySecretStore({ root: file });
    return file;
  }

  async function expectInfrastructure(promise: Promise<unknown>, path: string) {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(CertloopError);
    expect((error as CertloopError).kind).toBe('infrastructure');
    expect((error as CertloopError).source).toBe('secrets');
    expect((error as CertloopError).message).toContain(path);
    expect(linesWithKeyMaterial(visibleText(error))).toEqual([]);
  }

  it('turns filesystem failures into infrastructure errors that name the path', async () => {
    const file = await rootIsAFile();
    await expectInfrastructure(store.writeCertificate(SECRET, bundle(0), 'token-0'), file);
    await expectInfrastructure(store.readCertificate(SECRET), file);
    await expectInfrastructure(store.stagePendingKey(SECRET, 'a', makeTestKey()), file);
    await expectInfrastructure(store.readPendingKey(SECRET, 'a'), file);
    await expectInfrastructure(store.discardPendingKey(SECRET, 'a'), file);
    await expectInfrastructure(
      store.getOrCreateAccountKey({ directoryUrl: 'https://acme.example/d' }, async () =>
        makeTestKey(),
      ),
      file,
    );
  });

  it('reports a damaged cert.json or privkey.pem by path, never by content', async () => {
    await store.writeCertificate(SECRET, bundle(0), 'token-0');
    const versionDir = join(root, 'certs', SECRET, 'versions', 'token-0');

    await writeFile(join(versionDir, 'privkey.pem'), 'not a key at all');
    await expectInfrastructure(store.readCertificate(SECRET), join(versionDir, 'privkey.pem'));

    await writeFile(join(versionDir, 'privkey.pem'), bundle(0).privateKey.reveal());
    await writeFile(join(versionDir, 'cert.json'), '{"domains": 42}');
    await expectInfrastructure(store.readCertificate(SECRET), join(versionDir, 'cert.json'));
  });

  it('leaves generate failures to the caller and stores nothing', async () => {
    const failure = new Error('kms unavailable');
    await expect(
      store.getOrCreateAccountKey({ directoryUrl: 'https://acme.example/d' }, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    const key = makeTestKey();
    const created = await store.getOrCreateAccountKey(
      { directoryUrl: 'https://acme.example/d' },
      async () => key,
    );
    expect(created.equals(key)).toBe(true);
  });
});
