/**
 * Types for the three acme-client modules certloop loads directly (see
 * acme-client-modules.ts). They are the same objects the package's index exports, so
 * the index's own type declarations describe them.
 */
declare module 'acme-client/src/client.js' {
  import type { Client } from 'acme-client';

  const AcmeClient: typeof Client;
  export default AcmeClient;
}

declare module 'acme-client/src/axios.js' {
  import type { axios } from 'acme-client';

  const instance: typeof axios;
  export default instance;
}

declare module 'acme-client/src/crypto/index.js' {
  import type { crypto } from 'acme-client';

  const cryptoModule: typeof crypto;
  export default cryptoModule;
}
