import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * A self-signed P-256 certificate for `localhost` and `127.0.0.1` (30 days), made with
 * openssl: `<dir>/listener-cert.pem` and `<dir>/listener-key.pem`. The HTTPS listeners of
 * local mode (pebble, the ACME front) use one each; clients trust the certificate itself.
 * `whose` names the listener in the error when openssl is missing.
 */
export async function makeListenerCertificate(
  dir: string,
  whose: string,
): Promise<{ certPath: string; keyPath: string }> {
  const certPath = join(dir, 'listener-cert.pem');
  const keyPath = join(dir, 'listener-key.pem');
  try {
    await execFileAsync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '30',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ],
      { timeout: 20_000 },
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new Error(
      `could not create ${whose} listener certificate with openssl (${reason}). ` +
        'Install it with: sudo apt-get update && sudo apt-get install -y openssl',
    );
  }
  return { certPath, keyPath };
}
