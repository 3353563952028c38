// A real process that dials a real server by IP address, the way users do, and reports every
// process warning it saw (DEP0123 is emitted once per process, so the check needs its own process).
import { createCertificateAuthority } from '@sigil/pki';
import { startEchoServer } from '@sigil/testing';
import pino from 'pino';
import {
  createClientCredentials,
  createRotatingIdentity,
  createServerCredentials,
  loadClientTlsConfig,
  loadServerTlsConfig,
} from '../../src';
import { whoAmI } from './echo-calls';

async function main(): Promise<void> {
  const warnings: string[] = [];
  process.on('warning', (warning) =>
    warnings.push(
      `${warning.name} ${String((warning as { code?: string }).code)}: ${warning.message}`,
    ),
  );
  const ca = await createCertificateAuthority({ trustDomain: 'example.org' });
  const identity = async (spiffeId: string) => {
    const issued = await ca.issue({
      spiffeId,
      ipAddresses: ['127.0.0.1'],
      dnsNames: ['localhost'],
    });
    return createRotatingIdentity({
      certificateChainPem: issued.chainPem,
      privateKeyPem: issued.privateKeyPem!,
      caPem: issued.caPem,
    });
  };
  const logger = pino({ level: 'silent' });
  const server = await createServerCredentials(
    loadServerTlsConfig({
      env: {},
      configFile: false,
      identity: await identity('spiffe://example.org/svc/echo'),
    }),
    { logger },
  );
  const running = await startEchoServer({ credentials: server.credentials });
  const clientIdentity = await identity('spiffe://example.org/svc/client');
  const seen: string[] = [];
  for (const options of [
    { expectedServerId: 'spiffe://example.org/svc/echo' }, // by SPIFFE ID
    {}, // by the IP SAN
    { serverName: '127.0.0.1' }, // an explicit IP override
  ]) {
    const client = await createClientCredentials(
      loadClientTlsConfig({ env: {}, configFile: false, identity: clientIdentity, ...options }),
      { logger },
    );
    const peer = await whoAmI(
      `127.0.0.1:${running.port}`,
      client.credentials,
      client.channelOptions,
    );
    seen.push(peer.peerSerial === undefined ? 'no peer' : 'ok');
    client.close();
  }
  // Give a deferred warning the time to be emitted (process.emitWarning uses nextTick).
  await new Promise((resolve) => setTimeout(resolve, 50));
  server.close();
  await running.close();
  process.stdout.write(`${JSON.stringify({ done: true, seen, warnings })}\n`);
}

void main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ done: true, error: String(err) })}\n`);
});
