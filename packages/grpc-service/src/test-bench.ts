import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type pino from 'pino';
import {
  createCertificateAuthority,
  type CertificateAuthority,
  type IssueOptions,
} from '@sigil/pki';
import { createLogger } from '@sigil/runtime';
import { stringify } from 'yaml';
import { loadGrpcServiceConfig, loadUpstreamConfig } from './grpc-service-config';
import {
  startGrpcService,
  type GrpcServiceRegistration,
  type RunningGrpcService,
} from './grpc-service';
import { identityEnv, writeIdentityFiles, type IdentityFiles } from './identity-files';
import { serviceNameOf } from './internal/service-name';
import { createUpstream, type ClientConstructor, type Upstream } from './upstream';

/**
 * Options for {@link createTestBench}.
 *
 * @example
 * ```ts
 * const options: TestBenchOptions = { trustDomain: 'example.test', caNotBefore: new Date(Date.now() - 7 * 86_400_000) };
 * ```
 */
export interface TestBenchOptions {
  /** Default `sigil.test`. */
  trustDomain?: string;
  /** Validity start of the CA (backdate it to issue already-expired certificates); default now. */
  caNotBefore?: Date;
  /** Logger of the clients the bench makes; default silent. */
  logger?: pino.Logger;
}

/**
 * A CA, identity files under a temporary directory, and mTLS clients: what a service test needs.
 *
 * @example
 * ```ts
 * const bench: TestBench = await createTestBench();
 * const files = await bench.issue('web', 'client/web');
 * console.log(files.certificate, files.serialNumber);
 * ```
 */
export interface TestBench {
  readonly dir: string;
  readonly trustDomain: string;
  readonly ca: CertificateAuthority;
  /** Issues an X509-SVID for `spiffe://<trust domain>/<path>` and writes it under `<dir>/<name>` (again: replaces it). */
  issue(
    name: string,
    path: string,
    options?: Partial<IssueOptions>,
  ): Promise<IdentityFiles & { serialNumber: string }>;
  /** The files of an identity issued earlier. */
  files(name: string): IdentityFiles;
  /** The mTLS environment of identity `name` plus loopback listen addresses on port 0, then `extra`. */
  serviceEnv(name: string, extra?: Record<string, string>): Record<string, string>;
  /** Writes a policy file (`<dir>/<fileName>`) with these allow rules and returns its path. */
  writePolicy(fileName: string, rules: { methods: string[]; callers: string[] }[]): string;
  /**
   * Starts a service under identity `name` (issued earlier) hosting `service`, admitting exactly
   * `callers` (SPIFFE IDs) to it: a stand-in for a real upstream. Closed by cleanup().
   */
  startService(
    name: string,
    service: GrpcServiceRegistration,
    callers: string[],
  ): Promise<RunningGrpcService>;
  /** An mTLS client with identity `name` dialling `address`, which must present `spiffe://<td>/svc/<service>`. Closed by cleanup(). */
  connect<C extends grpc.Client>(
    Client: ClientConstructor<C>,
    name: string,
    address: string,
    service: string,
  ): Promise<Upstream<C>>;
  /** Closes every client and service it made, and deletes the directory. */
  cleanup(): Promise<void>;
}

/**
 * A test bench for services: a real CA from `@sigil/pki`, X509-SVIDs written in the cert-manager
 * layout, the environment that points a service at them, policy files, and mTLS clients built the
 * way services build them. Every file lives in one temporary directory that `cleanup()` removes.
 *
 * @example
 * ```ts
 * const bench = await createTestBench();
 * await bench.issue('identity-service', 'svc/identity-service');
 * await bench.issue('user-service', 'svc/user-service');
 * const running = await startIdentityService(loadIdentityServiceConfig(bench.serviceEnv('identity-service')), logger);
 * const client = await bench.connect(identityV1.IdentityServiceClient, 'user-service', running.address, 'identity-service');
 * // ... test, then:
 * await running.close();
 * await bench.cleanup();
 * ```
 */
export async function createTestBench(options: TestBenchOptions = {}): Promise<TestBench> {
  const trustDomain = options.trustDomain ?? 'sigil.test';
  const logger = options.logger ?? createLogger({ name: 'test-bench', level: 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-'));
  const ca = await createCertificateAuthority({
    trustDomain,
    ...(options.caNotBefore ? { now: options.caNotBefore } : {}),
  });
  const identities = new Map<string, IdentityFiles>();
  const clients: Upstream<grpc.Client>[] = [];
  const services: RunningGrpcService[] = [];
  const files = (name: string): IdentityFiles => {
    const found = identities.get(name);
    if (found === undefined) throw new Error(`test bench: no identity "${name}" was issued`);
    return found;
  };
  const serviceEnv = (
    name: string,
    extra: Record<string, string> = {},
  ): Record<string, string> => ({
    ...identityEnv(files(name)),
    GRPC_LISTEN_ADDR: '127.0.0.1:0',
    METRICS_LISTEN_ADDR: '127.0.0.1:0',
    ...extra,
  });
  const writePolicy = (
    fileName: string,
    rules: { methods: string[]; callers: string[] }[],
  ): string => {
    const path = join(dir, fileName);
    writeFileSync(path, stringify({ rules }));
    return path;
  };
  return {
    dir,
    trustDomain,
    ca,
    async issue(name, path, issueOptions = {}) {
      const issued = await ca.issue({
        spiffeId: `spiffe://${trustDomain}/${path}`,
        profile: 'svid',
        ...issueOptions,
      });
      const written = writeIdentityFiles(join(dir, name), issued);
      identities.set(name, written);
      return { ...written, serialNumber: issued.serialNumber };
    },
    files,
    serviceEnv,
    writePolicy,
    async startService(name, service, callers) {
      const policy = writePolicy(`${name}-policy.yaml`, [
        { methods: [`${serviceNameOf(service.definition)}/*`], callers },
      ]);
      const config = loadGrpcServiceConfig(serviceEnv(name), {
        name,
        defaultPort: 0,
        defaultPolicyPath: policy,
      });
      const running = await startGrpcService({ config, logger, services: [service] });
      services.push(running);
      return running;
    },
    async connect(Client, name, address, service) {
      const config = loadUpstreamConfig(
        { ...identityEnv(files(name)), TEST_BENCH_ADDR: address },
        { name: service, variable: 'TEST_BENCH_ADDR', defaultAddress: address, trustDomain },
      );
      const upstream = await createUpstream(Client, { config, logger });
      clients.push(upstream as unknown as Upstream<grpc.Client>);
      return upstream;
    },
    async cleanup() {
      for (const client of clients.splice(0)) client.close();
      for (const service of services.splice(0)) await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
