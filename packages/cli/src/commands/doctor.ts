import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { AgentKind } from '@sigil/agent';
import { isSigilError, SigilError } from '@sigil/errors';
import { loadClientTlsConfig } from '@sigil/grpc-tls';
import {
  readCertificateChainFile,
  readPrivateKeyFile,
  readTrustBundleFile,
  toPem,
} from '@sigil/pki';
import { parseListenAddress } from '@sigil/runtime';
import { checkAgent } from '../doctor/agent-checks';
import { doctorReport, factError, fail, formatDoctorReport } from '../doctor/catalogue';
import type { DoctorCheckResult, DoctorReport } from '../doctor/catalogue';
import { checkConnect } from '../doctor/connect-checks';
import { gatherAgentFacts } from '../doctor/gather-agent';
import { gatherConnectFacts } from '../doctor/gather-connect';
import { gatherTlsFacts } from '../doctor/gather-tls';
import { checkTls } from '../doctor/tls-checks';
import type { DoctorTarget } from '../doctor/tls-checks';
import { emit, withJsonOption } from '../internal/command';
import type { CommandContext } from '../internal/command';
import { flagParser, parseChoice, parseDurationIn } from '../internal/parse';

const DEFAULT_TIMEOUT_SECONDS = 10;

/**
 * Options of {@link doctorTls} (`sigil doctor tls`).
 *
 * @example
 * ```ts
 * const options: DoctorTlsOptions = { env: process.env, target: { host: 'api.internal', port: 8443 } };
 * ```
 */
export interface DoctorTlsOptions {
  /** The environment the service runs with (GRPC_*, SIGIL_TLS_*, a prefix's variables). */
  env: Readonly<Record<string, string | undefined>>;
  /** Check a client's settings (`loadClientTlsConfig`) instead of a server's. */
  client?: boolean;
  /** The name clients dial, checked against the certificate's SANs. */
  target?: DoctorTarget;
  /** Time to check at. Default now. */
  now?: Date;
}

/**
 * Checks a service's TLS settings and files the way @sigil/grpc-tls loads them. Exit code in
 * the report: 0 all pass, 1 some warn, 2 some fail.
 *
 * @example
 * ```ts
 * const report = doctorTls({ env: process.env, target: { host: 'localhost', port: 50051 } });
 * for (const check of report.checks) console.log(check.status, check.check, check.message);
 * ```
 */
export function doctorTls(options: DoctorTlsOptions): DoctorReport {
  const now = options.now ?? new Date();
  const facts = gatherTlsFacts(options.client ? 'client' : 'server', options.env);
  return doctorReport(
    'tls',
    checkTls(facts, { now, ...(options.target ? { target: options.target } : {}) }),
    now,
  );
}

/**
 * Options of {@link doctorConnect} (`sigil doctor connect`).
 *
 * @example
 * ```ts
 * const options: DoctorConnectOptions = { address: '127.0.0.1:50051', ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key', env: {} };
 * ```
 */
export interface DoctorConnectOptions {
  /** HOST:PORT of the server. */
  address: string;
  /** Trust bundle, client certificate chain and key files; without any of them, the client TLS settings of `env`. */
  ca?: string;
  /** Client certificate chain file (with `key`). */
  cert?: string;
  /** The private key file of `cert`. */
  key?: string;
  /** SNI and the name checked against the server's certificate. */
  servername?: string;
  /** The environment whose client TLS settings are used when no file is given. */
  env: Readonly<Record<string, string | undefined>>;
  /** Handshake and health call timeout. Default 10 s. */
  timeoutSeconds?: number;
}

/**
 * Connects to a TLS (gRPC) server for real and reports the handshake, the server's certificate
 * and its verification, our certificate's acceptance, TLS version, ALPN, clock skew and health.
 *
 * @example
 * ```ts
 * const report = await doctorConnect({ address: 'api.internal:8443', ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key', env: {} });
 * process.exitCode = report.exitCode;
 * ```
 */
export async function doctorConnect(options: DoctorConnectOptions): Promise<DoctorReport> {
  const { host, port } = parseAddress(options.address, 'HOST:PORT');
  const settings: DoctorCheckResult[] = [];
  const material = clientMaterial(options, settings);
  const facts = await gatherConnectFacts({
    host,
    port,
    ...material,
    ...(options.servername === undefined ? {} : { servername: options.servername }),
    timeoutMs: (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
    clock: () => new Date(),
  });
  const fromFlags = [options.ca, options.cert, options.key].some((f) => f !== undefined);
  const checks = checkConnect(facts, {
    giveCa: fromFlags ? 'pass --ca' : 'pass --ca, or set GRPC_SERVER_CA_CERT_PATH',
    giveCertificate: fromFlags
      ? 'pass --cert and --key'
      : 'pass --cert and --key, or set GRPC_CLIENT_CERT_PATH and GRPC_CLIENT_KEY_PATH',
    health: true,
  });
  return doctorReport('connect', [...settings, ...checks], facts.checkedAt);
}

/** The client material from the flags, else from the client TLS settings of the environment. */
function clientMaterial(
  options: DoctorConnectOptions,
  settings: DoctorCheckResult[],
): { caPem?: string; certificatePem?: string; keyPem?: string; servername?: string } {
  if ((options.cert === undefined) !== (options.key === undefined))
    throw new SigilError(
      'ERR_USAGE',
      `--${options.cert === undefined ? 'cert' : 'key'}: required with --${options.cert === undefined ? 'key' : 'cert'}`,
    );
  const read = (flag: string, load: () => string) => {
    try {
      return load();
    } catch (err) {
      if (!isSigilError(err)) throw err;
      throw new SigilError(err.code, `${flag} ${err.message}`, {
        cause: err,
        details: err.details,
      });
    }
  };
  if ([options.ca, options.cert, options.key].some((f) => f !== undefined)) {
    return {
      ...(options.ca === undefined
        ? {}
        : { caPem: read('--ca', () => toPem(readTrustBundleFile(options.ca!))) }),
      ...(options.cert === undefined
        ? {}
        : {
            certificatePem: read('--cert', () => toPem(readCertificateChainFile(options.cert!))),
            keyPem: read('--key', () => readPrivateKeyFile(options.key!).privateKeyPem),
          }),
    };
  }
  try {
    const config = loadClientTlsConfig({ env: options.env });
    const { files = {} } = config;
    const material = {
      ...(files.ca ? { caPem: toPem(readTrustBundleFile(files.ca.path)) } : {}),
      ...(files.certificate && files.privateKey
        ? {
            certificatePem: toPem(readCertificateChainFile(files.certificate.path)),
            keyPem: readPrivateKeyFile(files.privateKey.path).privateKeyPem,
          }
        : {}),
      ...(config.serverName === undefined ? {} : { servername: config.serverName }),
    };
    return material;
  } catch (err) {
    settings.push(
      fail(
        'tls-settings',
        `the client TLS settings of the environment do not load: ${factError(err).message}`,
        'pass --ca, --cert and --key, or fix the variable the message names (sigil doctor tls --client)',
      ),
    );
    return {};
  }
}

/**
 * Options of {@link doctorAgent} (`sigil doctor agent`).
 *
 * @example
 * ```ts
 * const options: DoctorAgentOptions = { stateDir: '/var/lib/sigil-connector' };
 * ```
 */
export interface DoctorAgentOptions {
  /** The agent's STATE_DIR. */
  stateDir: string;
  /** Default: the kind recorded in STATE_DIR/agent.json. */
  kind?: AgentKind;
  /** Handshake timeout per controller address. Default 10 s. */
  timeoutSeconds?: number;
  /** Time to judge the certificate at. Default now. */
  now?: Date;
}

/**
 * Checks a connector's or tunneler's persisted identity, its controllers' reachability and
 * trust, and its certificate's remaining lifetime.
 *
 * @example
 * ```ts
 * const report = await doctorAgent({ stateDir: '/var/lib/sigil-connector' });
 * if (report.exitCode === 2) console.error('the connector will not start');
 * ```
 */
export async function doctorAgent(options: DoctorAgentOptions): Promise<DoctorReport> {
  const now = options.now ?? new Date();
  const facts = await gatherAgentFacts({
    stateDir: options.stateDir,
    ...(options.kind === undefined ? {} : { kind: options.kind }),
    timeoutMs: (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
    clock: () => new Date(),
  });
  return doctorReport('agent', checkAgent(facts, now), now);
}

function parseAddress(text: string, what: string): DoctorTarget {
  try {
    const address = parseListenAddress(text, what);
    if (address.port === 0) throw new Error('port 0');
    return address;
  } catch {
    throw new InvalidArgumentError(
      `'${text}' is not HOST:PORT (such as api.internal:8443, 127.0.0.1:50051 or [::1]:50051).`,
    );
  }
}

function timeoutOption(): Option {
  return new Option('--timeout <duration>', 'handshake and call timeout (default 10s)').argParser(
    flagParser('--timeout', parseDurationIn([1, 3600])),
  );
}

/** Registers `sigil doctor tls|connect|agent`. @internal */
export function registerDoctor(program: Command, context: CommandContext): void {
  const doctor = program
    .command('doctor')
    .description(
      'Diagnose TLS settings, connections and agents. Every check prints pass, warn or fail with the fix. Exit 0: all pass; 1: some warn; 2: some fail.',
    );
  const print = (json: boolean | undefined, report: DoctorReport) =>
    emit(context, json, {
      exitCode: report.exitCode,
      json: report,
      human: formatDoctorReport(report),
    });
  withJsonOption(
    doctor
      .command('tls')
      .description(
        "Check a service's TLS settings from the environment, as @sigil/grpc-tls loads them: files, modes, PEM, key, chain, X509-SVID, expiry, --target against the SANs.",
      )
      .option(
        '--client',
        "check a client's settings (GRPC_CLIENT_*, <PREFIX>TLS_*) instead of a server's",
      )
      .option(
        '--target <host:port>',
        'the address clients dial: its host must be a SAN of the certificate',
        flagParser('--target', (text: string) => parseAddress(text, '--target')),
      ),
  ).action((flags: { client?: boolean; target?: DoctorTarget; json?: boolean }) => {
    print(
      flags.json,
      doctorTls({
        env: context.env,
        ...(flags.client ? { client: true } : {}),
        ...(flags.target ? { target: flags.target } : {}),
        ...(context.now ? { now: context.now } : {}),
      }),
    );
  });
  withJsonOption(
    doctor
      .command('connect')
      .description(
        'Shake hands with a TLS (gRPC) server: what it presents, verification, acceptance of our certificate, TLS version, ALPN h2, clock skew, grpc.health.v1.',
      )
      .argument('<host:port>', 'the server')
      .option(
        '--ca <file>',
        "trust bundle to verify the server with (default: the environment's client settings)",
      )
      .option('--cert <file>', 'client certificate chain, for servers that require mTLS')
      .option('--key <file>', 'the private key of --cert')
      .option(
        '--servername <name>',
        'SNI and the name checked against the certificate (default the host unless an IP)',
      )
      .addOption(timeoutOption()),
  ).action(async (address: string, flags: ConnectFlags) => {
    print(
      flags.json,
      await doctorConnect({
        address,
        env: context.env,
        ...(flags.ca === undefined ? {} : { ca: flags.ca }),
        ...(flags.cert === undefined ? {} : { cert: flags.cert }),
        ...(flags.key === undefined ? {} : { key: flags.key }),
        ...(flags.servername === undefined ? {} : { servername: flags.servername }),
        ...(flags.timeout === undefined ? {} : { timeoutSeconds: flags.timeout }),
      }),
    );
  });
  withJsonOption(
    doctor
      .command('agent')
      .description(
        "Check a connector's or tunneler's persisted identity, its controllers' reachability and trust, and its certificate's remaining lifetime.",
      )
      .option('--state-dir <dir>', 'the agent STATE_DIR (default $STATE_DIR)')
      .addOption(
        new Option(
          '--kind <kind>',
          'connector or tunneler (default: what STATE_DIR records)',
        ).argParser(
          flagParser('--kind', parseChoice(['connector', 'tunneler'] as const, 'an agent kind')),
        ),
      )
      .addOption(timeoutOption()),
  ).action(async (flags: AgentFlags) => {
    const stateDir = flags.stateDir ?? context.env['STATE_DIR'];
    if (stateDir === undefined || stateDir === '')
      throw new SigilError('ERR_USAGE', '--state-dir: required (or set STATE_DIR)');
    print(
      flags.json,
      await doctorAgent({
        stateDir,
        ...(flags.kind === undefined ? {} : { kind: flags.kind }),
        ...(flags.timeout === undefined ? {} : { timeoutSeconds: flags.timeout }),
        ...(context.now ? { now: context.now } : {}),
      }),
    );
  });
}

interface ConnectFlags {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  timeout?: number;
  json?: boolean;
}

interface AgentFlags {
  stateDir?: string;
  kind?: AgentKind;
  timeout?: number;
  json?: boolean;
}
