import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { ariCertificateIdOf } from '../../src/adapters/crypto/ari-certificate-id.js';
import { CertloopError } from '../../src/core/errors.js';
import type { RenewalInfoAnswer, SuggestedWindow } from '../../src/core/renewal-info.js';
import { lifetimeRenewalTime } from '../../src/core/renewal-window.js';
import { DAY, HOUR } from '../../src/core/time.js';
import type { AcmeCa, Dns01Challenge, OrderState } from '../../src/ports/acme-ca.js';
import type { Clock } from '../../src/ports/clock.js';

x509.cryptoProvider.set(webcrypto as never);

const SIGNING = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

interface FakeOrder {
  state: OrderState;
  certificate?: string;
}

/**
 * An in-process ACME CA for scale drills on a manual clock: orders are ready at once
 * (no DNS-01 to answer), finalize signs the CSR's public key with the CA's own key, and
 * the certificate's validity starts at the clock's `now`. pebble stamps real time and
 * 5-year lifetimes, which a simulated fleet over months cannot use; everything else
 * (keys, CSRs, X.509 checks, stores) is the real code. Records when each order was
 * placed, on the manual clock.
 *
 * With `ari`, it also answers renewal information (RFC 9773) for the certificates it
 * issued: by default the last 30th of the lifetime before certloop's own lifetime rule
 * (2/3, or 1/2 under 10 days), which `moveWindows`
 * changes (the incident case), and records every order's `replaces`.
 */
export class FakeAcmeCa implements AcmeCa {
  readonly directoryUrl = 'https://fake-ca.invalid/directory';
  readonly orderTimes: number[] = [];
  readonly #orders = new Map<string, FakeOrder>();
  readonly #keys: Promise<webcrypto.CryptoKeyPair>;
  #caCertificate: Promise<x509.X509Certificate>;
  #serial = 0x1000;
  readonly #ari: boolean;
  /** ARI identifier -> serial (hex, lower case) and validity of each issued certificate. */
  readonly #issued = new Map<string, { serial: string; notBefore: number; notAfter: number }>();
  readonly #windows = new Map<string, SuggestedWindow>();
  /** Every order's `replaces` (undefined for an order without), in order. */
  readonly replaces: Array<string | undefined> = [];
  /** The renewalInfo requests answered. */
  renewalInfoRequests = 0;

  constructor(
    readonly clock: Clock,
    readonly lifetimeMs = 90 * DAY,
    readonly name = 'Fake Drill CA',
    options: { ari?: boolean } = {},
  ) {
    this.#ari = options.ari ?? false;
    this.#keys = webcrypto.subtle.generateKey(SIGNING, true, [
      'sign',
      'verify',
    ]) as Promise<webcrypto.CryptoKeyPair>;
    this.#caCertificate = this.#keys.then(async (keys) =>
      x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: '01',
        name: `CN=${this.name}`,
        notBefore: new Date(clock.now() - DAY),
        notAfter: new Date(clock.now() + 3650 * DAY),
        signingAlgorithm: SIGNING,
        keys: keys as never,
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
        ],
      }),
    );
  }

  async renewalInfo(certId: string): Promise<RenewalInfoAnswer | undefined> {
    if (!this.#ari) return undefined;
    this.renewalInfoRequests += 1;
    const issued = this.#issued.get(certId);
    if (!issued) {
      throw new CertloopError('transient', `renewal information for ${certId}: HTTP 404`, {
        source: 'ari',
      });
    }
    const window = this.#windows.get(certId) ?? {
      start: lifetimeRenewalTime(issued, 1 / 30),
      end: lifetimeRenewalTime(issued, 0),
    };
    return { window: { ...window }, retryAfterMs: 6 * HOUR };
  }

  async profiles(): Promise<Record<string, string> | undefined> {
    return undefined;
  }

  /**
   * Knows a certificate issued before this CA object existed (a fleet set up for a
   * drill without issuing each one): its renewal information is answered like that of
   * the certificates it issued.
   */
  adopt(certificate: {
    certId: string;
    serial: string;
    notBefore: number;
    notAfter: number;
  }): void {
    this.#issued.set(certificate.certId, {
      serial: certificate.serial.replace(/:/g, '').toLowerCase(),
      notBefore: certificate.notBefore,
      notAfter: certificate.notAfter,
    });
  }

  /** Moves the suggested window of the certificates with these serials; returns how many. */
  moveWindows(serials: readonly string[], window: SuggestedWindow): number {
    const wanted = new Set(serials.map((serial) => serial.replace(/:/g, '').toLowerCase()));
    let moved = 0;
    for (const [certId, issued] of this.#issued) {
      if (wanted.has(issued.serial)) {
        this.#windows.set(certId, window);
        moved += 1;
      }
    }
    return moved;
  }

  async placeOrder(request: { domains: string[]; replaces?: string }): Promise<OrderState> {
    this.orderTimes.push(this.clock.now());
    this.replaces.push(request.replaces);
    const url = `${this.directoryUrl}/order/${this.#orders.size + 1}`;
    const state: OrderState = {
      url,
      status: 'ready',
      domains: [...request.domains].sort(),
      expiresAt: this.clock.now() + 7 * DAY,
    };
    this.#orders.set(url, { state });
    return { ...state };
  }

  async getOrder(url: string): Promise<OrderState> {
    const order = this.#orders.get(url);
    if (!order) throw new Error(`unknown order ${url}`);
    return { ...order.state };
  }

  async pendingDns01Challenges(_orderUrl: string): Promise<Dns01Challenge[]> {
    return [];
  }

  async answerChallenges(_challenges: Dns01Challenge[]): Promise<void> {}

  async finalize(url: string, csrPem: string): Promise<OrderState> {
    const order = this.#orders.get(url);
    if (!order) throw new Error(`unknown order ${url}`);
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    const keys = await this.#keys;
    const ca = await this.#caCertificate;
    const now = this.clock.now();
    this.#serial += 1;
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: this.#serial.toString(16).padStart(8, '0'),
      subject: `CN=${order.state.domains[0]?.replace('*.', 'wildcard.')}`,
      issuer: ca.subject,
      notBefore: new Date(now),
      notAfter: new Date(now + this.lifetimeMs),
      signingAlgorithm: SIGNING,
      publicKey: await csr.publicKey.export(),
      signingKey: keys.privateKey as never,
      extensions: [
        new x509.SubjectAlternativeNameExtension(
          order.state.domains.map((value) => ({ type: 'dns' as const, value })),
        ),
        await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey as never),
      ],
    });
    order.certificate = `${leaf.toString('pem')}\n${ca.toString('pem')}\n`;
    this.#issued.set(await ariCertificateIdOf(order.certificate), {
      serial: this.#serial.toString(16),
      notBefore: now,
      notAfter: now + this.lifetimeMs,
    });
    order.state = { ...order.state, status: 'valid' };
    return { ...order.state };
  }

  async downloadCertificate(url: string): Promise<string> {
    const certificate = this.#orders.get(url)?.certificate;
    if (!certificate) throw new Error(`order ${url} has no certificate`);
    return certificate;
  }
}
