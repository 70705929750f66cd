/**
 * Setting up the ACME account of one issuer on acme-client 5.4: the account key from the
 * store (one per directory URL and External Account Binding key id), the account found
 * or created at the CA, and the binding (RFC 8555 section 7.3.4) sent with newAccount
 * only. AcmeClientCa calls `connectAccount` on first use.
 */
import { CertloopError } from '../../core/errors.js';
import type { KeyMaterial } from '../../core/key-material.js';
import type { EabKeySource } from '../../ports/eab-key-source.js';
import type { KeyFactory } from '../../ports/key-factory.js';
import type { Logger } from '../../ports/logger.js';
import type { AccountKeys, AcmeAccountId } from '../../ports/secret-store.js';
import type { Client } from './acme-client-modules.js';
import { AcmeProblemError, shortProblemType, translateAcmeError } from './acme-errors.js';

export interface AccountSetup {
  directoryUrl: string;
  /** The issuer's name in the deployment, for messages. Default: the directory URL. */
  issuerName?: string;
  contactEmail?: string;
  /** The key id the CA gave and where its HMAC key is read (only to create an account). */
  eab?: { keyId: string; hmacKey: EabKeySource };
  secrets: AccountKeys;
  keys: KeyFactory;
  logger?: Logger;
  /** An acme-client client on `key` (polling, HTTP hooks); with `binding`, newAccount carries it. */
  newClient(key: KeyMaterial, binding?: { kid: string; hmacKey: string }): Client;
}

/**
 * The client of the issuer's account. The account key is stored only once the CA has
 * accepted the account: a key the store does not know yet is generated, the account is
 * created with it (with the binding), and only then is the key stored (create-if-absent).
 * A refused binding stores nothing. When another creator stored first, its key wins and
 * is looked up (or created) here.
 */
export async function connectAccount(setup: AccountSetup): Promise<Client> {
  const { eab, logger } = setup;
  const account: AcmeAccountId = {
    directoryUrl: setup.directoryUrl,
    ...(eab ? { eab: { keyId: eab.keyId } } : {}),
  };
  let registered: { key: KeyMaterial; client: Client } | undefined;
  const key = await setup.secrets.getOrCreateAccountKey(account, async () => {
    const fresh = await setup.keys.generate('ec-p256');
    // A key nobody has stored is unknown to the CA: create the account right away.
    registered = { key: fresh, client: await register(setup, fresh) };
    return fresh;
  });
  let client: Client;
  if (registered?.key.equals(key)) {
    client = registered.client;
  } else {
    if (registered) {
      logger?.info('acme account key stored by another creator; using it', {
        directoryUrl: setup.directoryUrl,
      });
    }
    client = await findOrCreateAccount(setup, key);
  }
  logger?.info('acme account ready', {
    directoryUrl: setup.directoryUrl,
    ...(setup.issuerName === undefined ? {} : { issuer: setup.issuerName }),
    ...(eab ? { eabKeyId: eab.keyId } : {}),
    accountUrl: client.getAccountUrl(),
  });
  return client;
}

/**
 * newAccount for `key`, with the External Account Binding when the issuer has one (its
 * HMAC key read now, not before). Returns the client that created the account.
 */
async function register(setup: AccountSetup, key: KeyMaterial): Promise<Client> {
  const eab = setup.eab;
  const hmacKey = eab ? await eab.hmacKey.readHmacKey() : undefined;
  const client = setup.newClient(
    key,
    eab && hmacKey ? { kid: eab.keyId, hmacKey: hmacKey.reveal() } : undefined,
  );
  const contact = setup.contactEmail;
  try {
    await client.createAccount({
      termsOfServiceAgreed: true,
      ...(contact === undefined ? {} : { contact: [`mailto:${contact}`] }),
    });
  } catch (error) {
    throw creationError(setup, error);
  }
  return client;
}

/**
 * newAccount is idempotent for a known key (RFC 8555 7.3.1: 200 and the account URL),
 * but acme-client follows a 200 with an account update carrying the same payload, and
 * an update without contact is refused by pebble ("use POST-as-GET"). So: look the
 * account up first (`onlyReturnExisting`, followed by a POST-as-GET; never with the
 * binding), create it only when the CA does not know the key, and look it up once more
 * if the creation lost a race against another instance holding the same key.
 */
async function findOrCreateAccount(setup: AccountSetup, key: KeyMaterial): Promise<Client> {
  const client = setup.newClient(key);
  const lookUp = () => client.createAccount({ onlyReturnExisting: true });
  try {
    await lookUp();
    return client;
  } catch (error) {
    const unknownKey =
      error instanceof AcmeProblemError &&
      shortProblemType(error.problem?.type) === 'accountDoesNotExist';
    if (!unknownKey) throw translateAcmeError(error, { operation: 'find account' });
  }
  try {
    return await register(setup, key);
  } catch (error) {
    if (error instanceof CertloopError && error.accountSetup) throw error;
    try {
      await lookUp();
    } catch {
      throw error;
    }
    return client;
  }
}

/**
 * A refused newAccount. A CA that refuses the binding (pebble 2.4: `unauthorized` for a
 * wrong HMAC key or an unknown key id; others answer `malformed`) or asks for one
 * (`externalAccountRequired`) gets `infrastructure` with `accountSetup`: no certificate
 * is at fault and waiting will not help until a person fixes the issuer's EAB
 * configuration. The message names the issuer and the key id, never the HMAC key.
 */
function creationError(setup: AccountSetup, error: unknown): CertloopError {
  const translated = translateAcmeError(error, { operation: 'create account' });
  const type =
    error instanceof AcmeProblemError ? shortProblemType(error.problem?.type) : undefined;
  const { eab, issuerName, directoryUrl } = setup;
  const issuer = issuerName === undefined ? directoryUrl : `"${issuerName}" (${directoryUrl})`;
  const options = {
    source: 'ca',
    accountSetup: true,
    cause: error,
    ...(type === undefined ? {} : { problem: type }),
  };
  if (type === 'externalAccountRequired' && !eab) {
    return new CertloopError(
      'infrastructure',
      `issuer ${issuer} requires External Account Binding: configure its eab (key id and HMAC key from the CA); ${translated.message}`,
      options,
    );
  }
  const refusals = ['unauthorized', 'malformed', 'externalAccountRequired'];
  if (eab && type !== undefined && refusals.includes(type)) {
    return new CertloopError(
      'infrastructure',
      `issuer ${issuer} refused the External Account Binding of key id "${eab.keyId}" (check the key id and the HMAC key the CA gave); ${translated.message}`,
      options,
    );
  }
  return translated;
}
