/**
 * A package-lock.json for a scratch app that installs the packed certloop tarball next
 * to packages this repository already locks (aws-cdk-lib, constructs, cdk-nag, ...), so
 * `npm ci --offline` can install it from the npm cache that the repository's own
 * `npm ci` filled: every entry is copied from the repository's lockfile (same paths, same
 * versions, same integrity), so the cache holds each tarball.
 */

export interface LockedPackage {
  version?: string;
  resolved?: string;
  integrity?: string;
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  optional?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  inBundle?: boolean;
  [field: string]: unknown;
}

export interface Lockfile {
  name?: string;
  version?: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockedPackage>;
}

export interface TarballPackage {
  /** The tarball's package.json. */
  manifest: {
    name: string;
    version: string;
    license?: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    bin?: Record<string, string>;
    engines?: Record<string, string>;
  };
  /** `file:` spec as the scratch package.json gives it, e.g. `file:certloop-0.1.0.tgz`. */
  spec: string;
  /** sha512 SRI of the tarball. */
  integrity: string;
}

/** The version the repository locks for a top-level package (e.g. aws-cdk-lib). */
export function lockedVersion(repo: Lockfile, name: string): string {
  const version = repo.packages[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`${name} is not in the repository's package-lock.json`);
  return version;
}

/** `node_modules/a/node_modules/b` -> `node_modules/a`; `node_modules/a` -> ``. */
function parentPackage(path: string): string {
  const at = path.lastIndexOf('/node_modules/');
  return at < 0 ? '' : path.slice(0, at);
}

/** Where Node (and npm) find `name` from the package at `from`: nearest node_modules upwards. */
function resolveIn(
  packages: Record<string, LockedPackage>,
  from: string,
  name: string,
): string | undefined {
  for (let base = from; ; base = parentPackage(base)) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (base === '') return undefined;
  }
}

/**
 * The scratch app's lockfile: its root depends on `dependencies` (name -> spec; the
 * tarball's own name maps to its `file:` spec), each resolved to the repository's locked
 * entry, and everything those need, transitively. Throws, naming the package and who
 * needs it, when the repository's lockfile does not hold something required.
 */
export function scratchLockfile(
  repo: Lockfile,
  appName: string,
  dependencies: Record<string, string>,
  tarball: TarballPackage,
): Lockfile {
  const tarballPath = `node_modules/${tarball.manifest.name}`;
  const packages: Record<string, LockedPackage> = {
    '': { name: appName, dependencies },
    [tarballPath]: {
      version: tarball.manifest.version,
      resolved: tarball.spec,
      integrity: tarball.integrity,
      license: tarball.manifest.license,
      dependencies: tarball.manifest.dependencies,
      peerDependencies: tarball.manifest.peerDependencies,
      bin: tarball.manifest.bin,
      engines: tarball.manifest.engines,
    },
  };
  const queue: Array<{ from: string; name: string; required: boolean }> = [];
  const need = (from: string, deps: Record<string, string> | undefined, required: boolean) => {
    for (const name of Object.keys(deps ?? {})) queue.push({ from, name, required });
  };
  need(
    '',
    Object.fromEntries(Object.entries(dependencies).filter(([n]) => n !== tarball.manifest.name)),
    true,
  );
  need(tarballPath, tarball.manifest.dependencies, true);
  need(tarballPath, tarball.manifest.peerDependencies, true);

  for (let next = queue.shift(); next; next = queue.shift()) {
    // The tarball's nested lookups fall back to the top level, as in the repository.
    const from = next.from === tarballPath ? '' : next.from;
    const path = resolveIn(repo.packages, from, next.name);
    if (!path) {
      if (!next.required) continue;
      throw new Error(
        `the repository's package-lock.json has no ${next.name} (needed by ${next.from || 'the scratch app'}): ` +
          'it cannot be installed offline from the npm cache',
      );
    }
    if (packages[path]) continue;
    const { dev, devOptional, peer, ...entry } = repo.packages[path] as LockedPackage;
    packages[path] = entry;
    need(path, entry.dependencies, true);
    need(path, entry.optionalDependencies, false);
    for (const name of Object.keys(entry.peerDependencies ?? {})) {
      queue.push({
        from: path,
        name,
        required: entry.peerDependenciesMeta?.[name]?.optional !== true,
      });
    }
  }
  return { name: appName, lockfileVersion: 3, requires: true, packages };
}
