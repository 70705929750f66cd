/**
 * The hosted zones of the Route 53 solver and which one a record goes to: the zone whose
 * domain is the longest suffix, on label boundaries, of the record's name without
 * `_acme-challenge.`. A name that is no challenge name, or under no configured zone, is a
 * `permanent` error raised before anything is written.
 */
import { CertloopError } from '../../core/errors.js';
import type { TxtRecord } from '../../ports/dns01-solver.js';
import { DNS_SOURCE } from './route53-errors.js';
import { CHALLENGE_PREFIX, normalizeName } from './route53-txt-records.js';

/** One Route 53 hosted zone the solver may write `_acme-challenge` TXT records into. */
export interface Route53Zone {
  /** `Z0123456789ABC` or `/hostedzone/Z0123456789ABC`. */
  hostedZoneId: string;
  /** The zone's domain, `example.com` (a trailing dot is accepted). */
  domain: string;
  /** A role to assume for this zone (a zone in another account); absent: `client`. */
  roleArn?: string;
}

/** A configured zone, normalized. */
export interface Zone {
  hostedZoneId: string;
  domain: string;
  roleArn: string | undefined;
}

/** The TXT values of one batch in one zone, by normalized record name. */
export interface ZoneBatch {
  zone: Zone;
  names: Map<string, Set<string>>;
}

/** The configured zones, normalized; at least one, and one per domain. */
export function toZones(configured: readonly Route53Zone[]): Zone[] {
  const zones = configured.map(toZone);
  if (zones.length === 0) throw configError('no Route 53 hosted zone configured');
  const seen = new Map<string, string>();
  for (const zone of zones) {
    const other = seen.get(zone.domain);
    if (other !== undefined) {
      throw configError(
        `two hosted zones configured for ${zone.domain}: ${other} and ${zone.hostedZoneId}`,
      );
    }
    seen.set(zone.domain, zone.hostedZoneId);
  }
  return zones;
}

/** Groups records by hosted zone and name; fails before any write on a name outside every zone. */
export function planBatches(zones: readonly Zone[], records: readonly TxtRecord[]): ZoneBatch[] {
  const batches = new Map<Zone, ZoneBatch>();
  const outside: string[] = [];
  const notChallenges: string[] = [];
  for (const record of records) {
    const name = normalizeName(record.name);
    if (!name.startsWith(CHALLENGE_PREFIX)) {
      notChallenges.push(record.name);
      continue;
    }
    const zone = zoneFor(zones, name.slice(CHALLENGE_PREFIX.length));
    if (!zone) {
      outside.push(record.name);
      continue;
    }
    let batch = batches.get(zone);
    if (!batch) {
      batch = { zone, names: new Map() };
      batches.set(zone, batch);
    }
    let values = batch.names.get(name);
    if (!values) {
      values = new Set();
      batch.names.set(name, values);
    }
    values.add(record.value);
  }
  if (notChallenges.length > 0) {
    throw new CertloopError(
      'permanent',
      `only ${CHALLENGE_PREFIX}* TXT records can be written to Route 53, not ` +
        `${unique(notChallenges).join(', ')}`,
      { source: DNS_SOURCE },
    );
  }
  if (outside.length > 0) {
    const configured = zones.map((zone) => `${zone.domain} (${zone.hostedZoneId})`);
    throw new CertloopError(
      'permanent',
      `no configured Route 53 hosted zone contains ${unique(outside).join(', ')}; configured ` +
        `zones: ${configured.join(', ')}. Add the hosted zone to the configuration or stop ` +
        `requesting the name.`,
      { source: DNS_SOURCE },
    );
  }
  return [...batches.values()];
}

/** A `permanent` error about the solver's configuration. */
export function configError(message: string): CertloopError {
  return new CertloopError('permanent', `Route 53 DNS-01 configuration: ${message}`, {
    source: DNS_SOURCE,
  });
}

/** The zone whose domain is the longest label-boundary suffix of `domain`. */
function zoneFor(zones: readonly Zone[], domain: string): Zone | undefined {
  let best: Zone | undefined;
  for (const zone of zones) {
    const inside = domain === zone.domain || domain.endsWith(`.${zone.domain}`);
    if (inside && (!best || zone.domain.length > best.domain.length)) best = zone;
  }
  return best;
}

function toZone(zone: Route53Zone): Zone {
  const hostedZoneId = zone.hostedZoneId.trim().replace(/^\/?hostedzone\//, '');
  const domain = normalizeName(zone.domain);
  if (!hostedZoneId || !domain) {
    throw configError(`invalid hosted zone ${JSON.stringify(zone)}: id and domain are required`);
  }
  return { hostedZoneId, domain, roleArn: zone.roleArn };
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}
