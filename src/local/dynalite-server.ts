import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

export interface DynaliteServerOptions {
  /** Directory for the LevelDB data; in memory when absent. */
  path?: string;
}

export interface DynaliteServer {
  /** `http://127.0.0.1:<port>`, for AWS_ENDPOINT_URL_DYNAMODB or a client's `endpoint`. */
  endpoint: string;
  /** Stops accepting requests, closes idle connections and the database. */
  close(): Promise<void>;
}

/**
 * Starts dynalite in this process on 127.0.0.1 and a free port. Tables become ACTIVE at
 * once (no CREATING/DELETING/UPDATING delays), so `ensureTable` returns immediately.
 */
export async function startDynalite(options: DynaliteServerOptions = {}): Promise<DynaliteServer> {
  const server = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets of SDK clients would otherwise hold the server open.
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
