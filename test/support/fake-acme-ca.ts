import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { DAY } from '../../src/core/time.js';
import type { AcmeCa, OrderState } from '../../src/ports/acme-ca.js';
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
 */
export class FakeAcmeCa implements AcmeCa {
  readonly directoryUrl = 'https://fake-ca.invalid/directory';
  readonly orderTimes: number[] = [];
  readonly #orders = new Map<string, FakeOrder>();
  readonly #keys: Promise<webcrypto.CryptoKeyPair>;
  #caCertificate: Promise<x509.X509Certificate>;
  #serial = 0x1000;

  constructor(
    readonly clock: Clock,
    readonly lifetimeMs = 90 * DAY,
    readonly name = 'Fake Drill CA',
  ) {
    this.#keys = webcrypto.subtle.generateKey(SIGNING, true, [
      'sign',
      'verify',
    ]) as Promise<webcrypto.CryptoKeyPair>;
    this.#caCertificate = this.#keys.then((keys) =>
      x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: '01',
        name: `CN=${this.name}`,
        notBefore: new Date(clock.now() - DAY),
        notAfter: new Date(clock.now() + 3650 * DAY),
        signingAlgorithm: SIGNING,
        keys: keys as never,
        extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
      }),
    );
  }

  async placeOrder(request: { domains: string[] }): Promise<OrderState> {
    this.orderTimes.push(this.clock.now());
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

  async pendingDns01Challenges() {
    return [];
  }

  async answerChallenges() {}

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
      ],
    });
    order.certificate = `${leaf.toString('pem')}\n${ca.toString('pem')}\n`;
    order.state = { ...order.state, status: 'valid' };
    return { ...order.state };
  }

  async downloadCertificate(url: string): Promise<string> {
    const certificate = this.#orders.get(url)?.certificate;
    if (!certificate) throw new Error(`order ${url} has no certificate`);
    return certificate;
  }
}
