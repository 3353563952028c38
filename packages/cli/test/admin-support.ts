// A real controller for the `sigil admin` tests (embedded store in a temp dir, ports 0), agents
// enrolled with the real enrollment client, and independent HTTP/TCP peers for failure cases.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server as TcpServer, Socket } from 'node:net';
import { join } from 'node:path';
import { enrollAgent } from '@sigil/agent';
import { createController } from '@sigil/controller';
import type { Controller, ControllerOptions } from '@sigil/controller';
import { createMemoryLogger } from '@sigil/testing';
import { temporaryDirectory } from './support';

export const ADMIN_TOKEN = 'cli-admin-test-token-4f9a1c7e2b8d';

/** A started controller, the env that points `sigil admin` at it, and its remover. */
export interface AdminFixture {
  controller: Controller;
  env: Record<string, string>;
  /** Enrolls an agent with a token `sigil admin tokens create` printed. */
  enroll(kind: 'connector' | 'tunneler', id: string, token: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts a controller on 127.0.0.1 with a known admin token (and `options`, e.g. `adminTls`). */
export async function startAdminFixture(
  options: Partial<ControllerOptions> = {},
): Promise<AdminFixture> {
  const tmp = temporaryDirectory('cli-admin');
  const controller = createController({
    dataDir: join(tmp.dir, 'controller'),
    trustDomain: 'cli.sigil',
    controllerListenAddress: '127.0.0.1:0',
    adminListenAddress: '127.0.0.1:0',
    adminToken: ADMIN_TOKEN,
    logger: createMemoryLogger().logger,
    ...options,
  });
  await controller.start();
  return {
    controller,
    env: { SIGIL_ADMIN_URL: controller.adminUrl, SIGIL_ADMIN_TOKEN: ADMIN_TOKEN },
    async enroll(kind, id, token) {
      await enrollAgent({
        kind,
        agentId: id,
        token,
        controllerAddresses: [controller.grpcAddress],
        controllerCaPath: controller.bootstrapCaPath,
        controllerCaPem: readFileSync(controller.bootstrapCaPath, 'utf8'),
        ...(kind === 'tunneler' ? { connectorAddress: '127.0.0.1:1' } : {}),
        version: '9.9.9-test',
        privateIp: '10.1.2.3',
        rounds: 1,
      });
    },
    async close() {
      await controller.stop({ graceMs: 200 });
      tmp.remove();
    },
  };
}

/** A loopback port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** A TCP server that accepts connections and never answers: a hung admin API. */
export async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((done) => server.close(() => done()));
    },
  };
}

/** An HTTP server that answers every request with `status` and `body` of `contentType`. */
export async function fixedHttpServer(
  status: number,
  contentType: string,
  body: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': contentType, connection: 'close' });
    res.end(body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
