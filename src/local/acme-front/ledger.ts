import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { ariCertificateIdWith } from '../../adapters/crypto/ari-certificate-id.js';
import { lifetimeRenewalTime } from '../../core/renewal-window.js';
import type { NewOrderFields } from './jws.js';

/**
 * What the ACME front knows: the certificates it saw downloaded (with their suggested
 * renewal windows) and every newOrder it answered, accepted or refused. In memory, for
 * one run of the front.
 */

export interface SuggestedWindowJson {
  /** ISO 8601. */
  start: string;
  end: string;
}

export interface FrontCertificate {
  /** ARI certificate identifier (RFC 9773 section 4.1). */
  certId: string;
  /** Serial, lower-case hex without separators or leading zeros. */
  serial: string;
  notBefore: string;
  notAfter: string;
  lifetimeSeconds: number;
  /** The account URL (`kid`) that downloaded it. */
  account?: string;
  orderUrl?: string;
  profile?: string;
  replaces?: string;
  window: SuggestedWindowJson;
  /** True once the management API moved the window. */
  windowMoved: boolean;
  learnedAt: string;
}

export type FrontOrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid' | 'refused';

export interface FrontOrder {
  /** The order URL (absent for a refused order). */
  url?: string;
  account?: string;
  identifiers: string[];
  profile?: string;
  replaces?: string;
  at: string;
  status: FrontOrderStatus;
  certificateUrl?: string;
  /** ARI identifier of the certificate it produced, once downloaded. */
  certId?: string;
  /** Why the order was refused (by the front, or by the upstream CA). */
  refusal?: { type: string; status: number; detail: string; by: 'front' | 'upstream' };
}

/** `past`: the window ends an hour before now. `later`: see `laterWindow`. */
export type WindowMove = SuggestedWindowJson | 'past' | 'later';

export interface Refusal {
  status: number;
  type: string;
  detail: string;
}

const ACME_ERROR = 'urn:ietf:params:acme:error:';
const HOUR_MS = 3_600_000;

/** Serial as lower-case hex without ':' or leading zeros ("0A:1b" -> "a1b"). */
export function normalizeSerial(serial: string): string {
  const digits = serial
    .replace(/:/g, '')
    .toLowerCase()
    .replace(/^0+(?=.)/, '');
  return digits;
}

/**
 * The default suggested window: the last 30th of the lifetime before certloop's own
 * lifetime rule (2/3 of the lifetime, 1/2 under 10 days), so a client that renews
 * anywhere in it renews no later than the lifetime rule. For 90 days: day 57-60; for 45
 * days: day 28.5-30; for 160 hours: hour 74.7-80.
 */
export function defaultWindow(notBeforeMs: number, lifetimeMs: number): SuggestedWindowJson {
  const validity = { notBefore: notBeforeMs, notAfter: notBeforeMs + lifetimeMs };
  return {
    start: new Date(lifetimeRenewalTime(validity, 1 / 30)).toISOString(),
    end: new Date(lifetimeRenewalTime(validity, 0)).toISOString(),
  };
}

/**
 * The "no hurry" window: from notAfter - lifetime/6 to notAfter - lifetime/12, i.e. from
 * 5/6 to 11/12 of the lifetime: clearly later than the default, still before expiry.
 */
export function laterWindow(notBeforeMs: number, lifetimeMs: number): SuggestedWindowJson {
  const notAfter = notBeforeMs + lifetimeMs;
  return {
    start: new Date(notAfter - lifetimeMs / 6).toISOString(),
    end: new Date(notAfter - lifetimeMs / 12).toISOString(),
  };
}

/** The incident window: from two hours to one hour before `nowMs`. */
export function pastWindow(nowMs: number): SuggestedWindowJson {
  return {
    start: new Date(nowMs - 2 * HOUR_MS).toISOString(),
    end: new Date(nowMs - HOUR_MS).toISOString(),
  };
}

export class FrontLedger {
  readonly #clock: () => number;
  readonly #certificates = new Map<string, FrontCertificate>();
  readonly #orders: FrontOrder[] = [];
  /** Order path (and finalize path) -> order. */
  readonly #ordersByPath = new Map<string, FrontOrder>();
  /** Certificate path -> order. */
  readonly #ordersByCertificatePath = new Map<string, FrontOrder>();

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  certificates(): FrontCertificate[] {
    return [...this.#certificates.values()].map((certificate) => ({
      ...certificate,
      window: { ...certificate.window },
    }));
  }

  orders(): FrontOrder[] {
    return this.#orders.map((order) => ({
      ...order,
      identifiers: [...order.identifiers],
      ...(order.refusal ? { refusal: { ...order.refusal } } : {}),
    }));
  }

  certificate(certId: string): FrontCertificate | undefined {
    return this.#certificates.get(certId);
  }

  /**
   * Why a newOrder must be refused, if it must: `replaces` naming an unknown certificate
   * or another account's (malformed), or one already replaced by an order that became
   * valid (alreadyReplaced); a `profile` not among `offered` (invalidProfile). Earlier
   * orders with the same `replaces` that are not valid do not count: a client retrying
   * after a crash may place its order again.
   */
  check(
    fields: NewOrderFields,
    account: string | undefined,
    offered: string[] | null,
  ): Refusal | undefined {
    if (fields.profile !== undefined && offered !== null && !offered.includes(fields.profile)) {
      return {
        status: 400,
        type: `${ACME_ERROR}invalidProfile`,
        detail: `profile "${fields.profile}" is not offered; offered profiles: ${offered.join(', ')}`,
      };
    }
    if (fields.replaces !== undefined) {
      const replaced = this.#certificates.get(fields.replaces);
      if (!replaced) {
        return {
          status: 400,
          type: `${ACME_ERROR}malformed`,
          detail: `replaces names an unknown certificate: "${fields.replaces}"`,
        };
      }
      if (replaced.account !== account) {
        return {
          status: 400,
          type: `${ACME_ERROR}malformed`,
          detail: `replaces names a certificate of another account: "${fields.replaces}"`,
        };
      }
      const replacedBy = this.#orders.find(
        (order) => order.replaces === fields.replaces && order.status === 'valid',
      );
      if (replacedBy) {
        return {
          status: 409,
          type: `${ACME_ERROR}alreadyReplaced`,
          detail: `certificate "${fields.replaces}" was already replaced by order ${replacedBy.url}`,
        };
      }
    }
    return undefined;
  }

  recordOrder(
    fields: NewOrderFields,
    account: string | undefined,
    outcome: { url?: string; status: FrontOrderStatus; refusal?: FrontOrder['refusal'] },
  ): FrontOrder {
    const order: FrontOrder = {
      ...(outcome.url ? { url: outcome.url } : {}),
      ...(account ? { account } : {}),
      identifiers: fields.identifiers.map((identifier) => identifier.value),
      ...(fields.profile !== undefined ? { profile: fields.profile } : {}),
      ...(fields.replaces !== undefined ? { replaces: fields.replaces } : {}),
      at: new Date(this.#clock()).toISOString(),
      status: outcome.status,
      ...(outcome.refusal ? { refusal: outcome.refusal } : {}),
    };
    this.#orders.push(order);
    if (outcome.url) this.#ordersByPath.set(new URL(outcome.url).pathname, order);
    return order;
  }

  /**
   * Learns from an order object the upstream answered (newOrder, order poll, finalize):
   * its status, and which certificate URL belongs to it. The order is found by its URL
   * path or by its finalize URL's path.
   */
  observeOrder(orderPath: string | undefined, body: Record<string, unknown>): void {
    const finalizePath = typeof body.finalize === 'string' ? new URL(body.finalize).pathname : '';
    let order = orderPath ? this.#ordersByPath.get(orderPath) : undefined;
    order ??= this.#ordersByPath.get(finalizePath);
    if (!order) return;
    if (finalizePath) this.#ordersByPath.set(finalizePath, order);
    if (typeof body.status === 'string' && order.status !== 'valid') {
      order.status = body.status as FrontOrderStatus;
    }
    if (typeof body.certificate === 'string') {
      order.certificateUrl = body.certificate;
      this.#ordersByCertificatePath.set(new URL(body.certificate).pathname, order);
    }
  }

  /** Learns a certificate from a download (its leaf is the first PEM block). */
  observeCertificate(certificatePath: string, chainPem: string, account: string | undefined) {
    const leafPem = chainPem.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/,
    )?.[0];
    if (!leafPem) return undefined;
    const certId = ariCertificateIdWith(x509, leafPem);
    const known = this.#certificates.get(certId);
    if (known) return known;
    const leaf = new X509Certificate(leafPem);
    const notBefore = Date.parse(leaf.validFrom);
    const notAfter = Date.parse(leaf.validTo);
    const lifetimeMs = notAfter - notBefore;
    // Alternate chains live under the certificate's own path (/certZ/<id>/1).
    const order =
      this.#ordersByCertificatePath.get(certificatePath) ??
      this.#ordersByCertificatePath.get(certificatePath.replace(/\/\d+$/, ''));
    if (order) {
      order.status = 'valid';
      order.certId = certId;
    }
    const certificate: FrontCertificate = {
      certId,
      serial: normalizeSerial(leaf.serialNumber),
      notBefore: new Date(notBefore).toISOString(),
      notAfter: new Date(notAfter).toISOString(),
      lifetimeSeconds: Math.round(lifetimeMs / 1000),
      ...(account ? { account } : {}),
      ...(order?.url ? { orderUrl: order.url } : {}),
      ...(order?.profile !== undefined ? { profile: order.profile } : {}),
      ...(order?.replaces !== undefined ? { replaces: order.replaces } : {}),
      window: defaultWindow(notBefore, lifetimeMs),
      windowMoved: false,
      learnedAt: new Date(this.#clock()).toISOString(),
    };
    this.#certificates.set(certId, certificate);
    return certificate;
  }

  /** Moves the windows of the certificates with these serials; reports which were unknown. */
  moveWindows(serials: string[], move: WindowMove): { moved: string[]; unknown: string[] } {
    const bySerial = new Map<string, FrontCertificate>();
    for (const certificate of this.#certificates.values()) {
      bySerial.set(certificate.serial, certificate);
    }
    const moved: string[] = [];
    const unknown: string[] = [];
    for (const serial of serials) {
      const certificate = bySerial.get(normalizeSerial(serial));
      if (!certificate) {
        unknown.push(serial);
        continue;
      }
      const notBefore = Date.parse(certificate.notBefore);
      const lifetimeMs = Date.parse(certificate.notAfter) - notBefore;
      certificate.window =
        move === 'past'
          ? pastWindow(this.#clock())
          : move === 'later'
            ? laterWindow(notBefore, lifetimeMs)
            : { start: move.start, end: move.end };
      certificate.windowMoved = true;
      moved.push(serial);
    }
    return { moved, unknown };
  }
}
