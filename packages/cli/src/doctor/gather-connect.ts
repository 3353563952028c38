// The I/O of `sigil doctor connect` (and of `doctor agent` for each controller address): a real
// TLS handshake by the CLI's own probe, offering ALPN h2, then a grpc.health.v1 Check over grpc-js
// whose HTTP/2 response headers carry the server's `date`.
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { probeTlsServer } from '../internal/tls-probe';
import type { TlsProbeResult } from '../internal/tls-probe';
import { parseCertificatesPem } from '@sigil/pki';
import { factError } from './catalogue';
import type { FactError } from './catalogue';

/** Where and with what to connect. */
export interface ConnectOptions {
  host: string;
  port: number;
  /** SNI and the name checked against the server's certificate; default the host unless it is an IP. */
  servername?: string;
  /** The bundle the server's chain is verified against; without it the chain is not verified. */
  caPem?: string;
  /** Our client certificate chain and key, for mutual TLS. */
  certificatePem?: string;
  keyPem?: string;
  timeoutMs: number;
  /** Ask grpc.health.v1 (default true). */
  health?: boolean;
  /** The local clock (clock skew is measured against it). */
  clock: () => Date;
}

/** What the gRPC health call gave. */
export interface HealthFacts {
  /** SERVING, NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN, when the server answered. */
  status?: string;
  /** The error when it did not (UNIMPLEMENTED: no health service). */
  error?: FactError & { grpcCode: number };
  /** The `date` header of the server's HTTP/2 response, and our clock halfway through the call. */
  serverDate?: Date;
  localDate?: Date;
}

/** What `doctor connect` found. */
export interface ConnectFacts {
  address: string;
  /** We offered a client certificate. */
  presentedClientCertificate: boolean;
  /** We had a CA bundle to verify the server with. */
  hadCa: boolean;
  probe: { result: TlsProbeResult } | { error: FactError };
  health?: HealthFacts;
  /** Our clock when the handshake completed. */
  checkedAt: Date;
}

/** Shakes hands, then (when the server verified and speaks h2) asks its health. */
export async function gatherConnectFacts(options: ConnectOptions): Promise<ConnectFacts> {
  const address = `${options.host}:${options.port}`;
  const base = {
    address,
    presentedClientCertificate: options.certificatePem !== undefined,
    hadCa: options.caPem !== undefined,
  };
  let result: TlsProbeResult;
  try {
    result = await probeTlsServer({
      host: options.host,
      port: options.port,
      ...(options.servername === undefined ? {} : { servername: options.servername }),
      ...(options.caPem === undefined
        ? {}
        : { ca: parseCertificatesPem(options.caPem, 'CA bundle') }),
      ...(options.certificatePem === undefined
        ? {}
        : { clientCertificatePem: options.certificatePem, clientKeyPem: options.keyPem! }),
      alpnProtocols: ['h2'],
      tolerateRefusal: true,
      timeoutMs: options.timeoutMs,
    });
  } catch (err) {
    return { ...base, probe: { error: factError(err) }, checkedAt: options.clock() };
  }
  const checkedAt = options.clock();
  const usable =
    result.refused === undefined &&
    result.alpnProtocol === 'h2' &&
    result.verification?.verified === true &&
    options.health !== false;
  return {
    ...base,
    probe: { result },
    ...(usable ? { health: await checkHealth(options, result.servername) } : {}),
    checkedAt,
  };
}

type HealthClient = grpc.Client & {
  check(
    request: { service: string },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, response?: { status: string }) => void,
  ): grpc.ClientUnaryCall;
};

const HealthClient = grpc.makeClientConstructor(
  healthService as unknown as grpc.ServiceDefinition,
  'grpc.health.v1.Health',
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => HealthClient;

async function checkHealth(
  options: ConnectOptions,
  servername: string | undefined,
): Promise<HealthFacts> {
  const credentials = grpc.credentials.createSsl(
    Buffer.from(options.caPem!),
    options.keyPem === undefined ? null : Buffer.from(options.keyPem),
    options.certificatePem === undefined ? null : Buffer.from(options.certificatePem),
    // The name is the server-name check's: this call asks about health only.
    { checkServerIdentity: () => undefined },
  );
  const client = new HealthClient(`${options.host}:${options.port}`, credentials, {
    'grpc.use_local_subchannel_pool': 1,
    ...(servername === undefined ? {} : { 'grpc.ssl_target_name_override': servername }),
  });
  const facts: HealthFacts = {};
  const started = options.clock().getTime();
  const noteDate = (metadata: grpc.Metadata) => {
    const [date] = metadata.get('date');
    if (facts.serverDate !== undefined || typeof date !== 'string') return;
    const parsed = new Date(date);
    if (Number.isNaN(parsed.getTime())) return;
    facts.serverDate = parsed;
    facts.localDate = new Date((started + options.clock().getTime()) / 2);
  };
  try {
    await new Promise<void>((done) => {
      const call = client.check(
        { service: '' },
        new grpc.Metadata(),
        { deadline: new Date(Date.now() + options.timeoutMs) },
        (err, response) => {
          if (err) {
            facts.error = {
              ...factError(err),
              code: grpc.status[err.code] ?? String(err.code),
              grpcCode: err.code,
            };
            facts.error.message = err.details || err.message;
          } else {
            facts.status = response!.status;
          }
          done();
        },
      );
      call.on('metadata', noteDate);
      call.on('status', (status: grpc.StatusObject) => noteDate(status.metadata));
    });
  } finally {
    client.close();
  }
  return facts;
}
