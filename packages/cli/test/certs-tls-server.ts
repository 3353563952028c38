// A real TLS server on loopback for the certs/ca tests: serves a certificate chain, optionally
// asks for and verifies a client certificate.
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** A listening TLS server and how to reach and stop it. */
export interface LoopbackTlsServer {
  port: number;
  address: string;
  /** Subject alternative names of the client certificates the server saw, in order. */
  clientSubjects: string[];
  close(): Promise<void>;
}

/** Starts a TLS server on 127.0.0.1 with `cert`/`key` files; with `clientCa`, mTLS required. */
export async function startTlsServer(options: {
  cert: string;
  key: string;
  clientCa?: string;
}): Promise<LoopbackTlsServer> {
  const clientSubjects: string[] = [];
  const server = createServer(
    {
      cert: readFileSync(options.cert),
      key: readFileSync(options.key),
      ...(options.clientCa
        ? { ca: readFileSync(options.clientCa), requestCert: true, rejectUnauthorized: true }
        : {}),
    },
    (socket: TLSSocket) => {
      const peer = socket.getPeerX509Certificate();
      if (peer) clientSubjects.push(peer.subjectAltName ?? '');
      socket.end('hello\n');
    },
  );
  // Refused handshakes (a client without a certificate) are expected in some tests.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    address: `127.0.0.1:${port}`,
    clientSubjects,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** A verifying TLS client handshake; resolves with whether the peer verified against `ca`. */
export function handshake(
  port: number,
  ca: string,
  servername: string,
): Promise<{ authorized: boolean; error?: string }> {
  return new Promise((done, fail) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(ca),
      servername,
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => {
      const error = socket.authorizationError;
      done({ authorized: socket.authorized, ...(error ? { error: String(error) } : {}) });
      socket.destroy();
    });
    socket.once('error', fail);
  });
}
