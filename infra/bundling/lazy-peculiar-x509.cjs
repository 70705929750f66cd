// Replaces `@peculiar/x509` in certloop's Lambda bundles (esbuild alias, see
// bundle-settings.ts) with a stand-in that loads the real library on first use.
//
// Why: acme-client requires @peculiar/x509 at the top of its crypto module, and loading
// that library (reflect-metadata, tsyringe, asn1js and several hundred ASN.1 schema
// classes built by decorators) takes about as long as the seven AWS SDK clients together.
// A worker needs it only to make a CSR and to read a new certificate's Authority Key
// Identifier; a renewal-information check, an ACM import or a skipped record never
// does. Loaded on first use, it stays out of the cold start of every function; the
// worker loads it while an issuance waits for DNS (NodeKeyFactory.warmUp).
//
// acme-client's only use of the library at load time is
// `x509.cryptoProvider.set(crypto.webcrypto)`: that call is kept and replayed on the
// real library when it loads. Any other property read loads the library and answers
// from it, so the stand-in behaves as the library does from then on.
//
// `certloop-bundling/peculiar-x509` is a second alias: the real library, resolved the
// way acme-client resolves it.

let library;
const pendingProviders = [];

function load() {
  if (library === undefined) {
    library = require('certloop-bundling/peculiar-x509');
    for (const args of pendingProviders.splice(0)) library.cryptoProvider.set(...args);
  }
  return library;
}

// Until the library loads, `cryptoProvider.set(...)` is recorded; reading anything else
// from the provider loads the library and answers from its real provider.
const deferredCryptoProvider = new Proxy(
  {},
  {
    get(_target, name) {
      if (name === 'set' && library === undefined) {
        return (...args) => {
          if (library === undefined) pendingProviders.push(args);
          else library.cryptoProvider.set(...args);
        };
      }
      const provider = load().cryptoProvider;
      const value = provider[name];
      return typeof value === 'function' ? value.bind(provider) : value;
    },
  },
);

module.exports = new Proxy(
  {},
  {
    get(_target, name) {
      if (name === 'cryptoProvider' && library === undefined) return deferredCryptoProvider;
      return load()[name];
    },
    has(_target, name) {
      return name in load();
    },
    ownKeys() {
      return Reflect.ownKeys(load());
    },
    getOwnPropertyDescriptor(_target, name) {
      const descriptor = Reflect.getOwnPropertyDescriptor(load(), name);
      // A proxy may not report a property its (empty) target lacks as non-configurable.
      return descriptor === undefined ? undefined : { ...descriptor, configurable: true };
    },
  },
);
