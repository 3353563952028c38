// The judgement of `sigil doctor connect`: pure functions over the facts gather-connect collected.
import { DEFAULT_BACKDATE_SECONDS } from '@sigil/pki';
import { describeCertificate } from '../internal/certificate-details';
import { fail, pass, warn } from './catalogue';
import type { DoctorCheckResult } from './catalogue';
import { expiryCheck } from './certificate-checks';
import type { ConnectFacts, HealthFacts } from './gather-connect';

/** Skew up to this is a pass: the `date` header has a resolution of one second, and a minute of drift is harmless. */
export const CLOCK_SKEW_WARN_MS = 60_000;
/**
 * Skew beyond this fails: issuers back-date notBefore by 5 minutes (@sigil/pki's
 * DEFAULT_BACKDATE_SECONDS), so a clock further behind sees fresh certificates as not yet valid.
 */
export const CLOCK_SKEW_FAIL_MS = DEFAULT_BACKDATE_SECONDS * 1000;

/** How the checks name the remedies that depend on where the client settings came from. */
export interface ConnectAdvice {
  /** How to give a CA bundle: `pass --ca (or set GRPC_SERVER_CA_CERT_PATH)`. */
  giveCa: string;
  /** How to give a client certificate: `pass --cert and --key`. */
  giveCertificate: string;
  /** Whether to judge grpc.health.v1 (off for the controller, which serves none). */
  health: boolean;
}

const REFUSAL =
  /refused the handshake|certificate required|bad certificate|unknown ca|certificate unknown|certificate expired|closed the connection during the handshake|access denied/i;

/** Every check of one connection, in order; checks that need a completed handshake are left out without one. */
export function checkConnect(facts: ConnectFacts, advice: ConnectAdvice): DoctorCheckResult[] {
  const subject = facts.address;
  if ('error' in facts.probe) {
    // The probe's error starts with the address, which is the subject here.
    const message = facts.probe.error.message.replace(`${facts.address}: `, '');
    if (REFUSAL.test(message)) return [clientCertificateRefused(facts, message, advice)];
    return [
      fail(
        'handshake',
        message,
        /does not speak TLS/.test(message)
          ? 'this port serves plaintext or another protocol: dial the TLS (gRPC) port'
          : `check that the server runs and listens on ${facts.address} and that no firewall drops the connection (ss -ltnp on the server)`,
        subject,
      ),
    ];
  }
  const probe = facts.probe.result;
  const results: DoctorCheckResult[] = [
    pass('handshake', `${probe.protocol}, ${probe.cipher}`, subject),
  ];
  const leaf = probe.presented[0];
  if (leaf === undefined) {
    results.push(
      fail(
        'server-certificate',
        'the server presented no certificate',
        'configure the server with a certificate and key',
        subject,
      ),
    );
  } else {
    const details = describeCertificate(leaf, facts.checkedAt);
    results.push(
      pass(
        'server-certificate',
        `${details.spiffeId ?? (details.subject || '(empty subject)')}, issued by ${details.issuer || '(empty)'}, valid until ${details.notAfter.toISOString()}, ${probe.presented.length} certificate(s) sent`,
        subject,
      ),
      expiryCheck(probe.presented, facts.checkedAt, 30, {
        subject: `${subject} (server certificate)`,
        renew: "renew the server's certificate",
      }),
    );
  }
  if (probe.verification === undefined) {
    results.push(
      warn(
        'server-verified',
        'not verified: no CA bundle to verify the server with',
        advice.giveCa,
        subject,
      ),
    );
  } else if (probe.verification.verified) {
    results.push(pass('server-verified', 'the chain verifies against our CA bundle', subject));
  } else {
    results.push(
      fail(
        'server-verified',
        `the server's chain does not verify against our CA bundle: ${probe.verification.reason ?? 'unknown reason'}`,
        `give the bundle of the CA that issued the server's certificate (${advice.giveCa}), or fix the server's certificate`,
        subject,
      ),
    );
  }
  if (probe.nameCheck !== undefined) {
    results.push(
      probe.nameCheck.matches
        ? pass('server-name', `the certificate covers ${probe.servername}`, subject)
        : fail(
            'server-name',
            probe.nameCheck.reason ?? `the certificate does not cover ${probe.servername}`,
            'dial a name the certificate has (or set the server name: --servername, GRPC_SERVER_DOMAIN), or reissue it with that name',
            subject,
          ),
    );
  }
  if (probe.refused !== undefined) {
    results.push(clientCertificateRefused(facts, probe.refused, advice));
  } else {
    results.push(
      pass(
        'client-certificate-accepted',
        facts.presentedClientCertificate
          ? 'the server accepted our certificate (a server that only requests one accepts any: its authorization decides)'
          : 'no client certificate offered, and the server did not require one',
        subject,
      ),
    );
  }
  results.push(
    probe.protocol === 'TLSv1.3' || probe.protocol === 'TLSv1.2'
      ? pass('tls-version', probe.protocol, subject)
      : fail(
          'tls-version',
          `${probe.protocol}: older than TLS 1.2`,
          'upgrade the server to TLS 1.2 or later (Sigil refuses older versions)',
          subject,
        ),
  );
  results.push(
    probe.alpnProtocol === 'h2'
      ? pass('alpn-h2', 'h2', subject)
      : fail(
          'alpn-h2',
          `the server negotiated no HTTP/2 (ALPN: ${probe.alpnProtocol ?? 'none'}): gRPC clients refuse it`,
          'dial the gRPC port, or make the proxy in front speak HTTP/2 (ALPN h2) to clients',
          subject,
        ),
  );
  results.push(clockSkewCheck(facts));
  if (facts.health !== undefined && advice.health) results.push(healthCheck(facts.health, subject));
  return results;
}

function clientCertificateRefused(
  facts: ConnectFacts,
  reason: string,
  advice: ConnectAdvice,
): DoctorCheckResult {
  return fail(
    'client-certificate-accepted',
    facts.presentedClientCertificate
      ? `the server refused our certificate: ${reason}`
      : `the server requires a client certificate: ${reason}`,
    facts.presentedClientCertificate
      ? "use a certificate issued by a CA in the server's client CA bundle (GRPC_CLIENT_CA_CERT_PATH on the server), valid now"
      : advice.giveCertificate,
    facts.address,
  );
}

/**
 * `clock-skew`: our clock against the server's `date` header (HTTP/2 response of the health
 * call, halfway through the call). Without one, the server certificate's notBefore is a lower
 * bound of the issuer's clock: a notBefore in our future means our clock is behind.
 */
export function clockSkewCheck(facts: ConnectFacts): DoctorCheckResult {
  const subject = facts.address;
  const { serverDate, localDate } = facts.health ?? {};
  if (serverDate !== undefined && localDate !== undefined) {
    const skew = localDate.getTime() - serverDate.getTime();
    const said = `this host's clock is ${formatSkew(skew)} the server's (date header ${serverDate.toISOString()})`;
    const fix = 'synchronise the clocks (timedatectl; chrony or systemd-timesyncd on both hosts)';
    if (Math.abs(skew) <= CLOCK_SKEW_WARN_MS + 1000) return pass('clock-skew', said, subject);
    if (Math.abs(skew) <= CLOCK_SKEW_FAIL_MS) return warn('clock-skew', said, fix, subject);
    return fail(
      'clock-skew',
      `${said}: beyond the 5 min certificates are back-dated by`,
      fix,
      subject,
    );
  }
  const leaf = 'result' in facts.probe ? facts.probe.result.presented[0] : undefined;
  const notBefore = leaf === undefined ? undefined : new Date(leaf.validFrom);
  if (notBefore !== undefined && notBefore.getTime() > facts.checkedAt.getTime()) {
    return fail(
      'clock-skew',
      `the server's certificate is valid from ${notBefore.toISOString()}, later than our clock (${facts.checkedAt.toISOString()}): this host's clock is behind its issuer's by at least ${formatAmount(notBefore.getTime() - facts.checkedAt.getTime())}`,
      'synchronise the clocks (timedatectl; chrony or systemd-timesyncd)',
      subject,
    );
  }
  return pass(
    'clock-skew',
    `no server date header (no gRPC answer); lower bound only: the server certificate's notBefore${notBefore ? ` (${notBefore.toISOString()})` : ''} is not in our future`,
    subject,
  );
}

function healthCheck(health: HealthFacts, subject: string): DoctorCheckResult {
  if (health.status === 'SERVING') return pass('grpc-health', 'SERVING', subject);
  if (health.status !== undefined) {
    return health.status === 'NOT_SERVING'
      ? fail(
          'grpc-health',
          'the server reports NOT_SERVING',
          'the server is up but not ready: read its logs (a dependency down, draining, starting)',
          subject,
        )
      : warn(
          'grpc-health',
          `the server reports ${health.status}`,
          'read the server logs: it has not set its health yet',
          subject,
        );
  }
  const error = health.error!;
  if (error.code === 'UNIMPLEMENTED')
    return warn(
      'grpc-health',
      'the server does not serve grpc.health.v1',
      'register the standard health service (@sigil/grpc-service does) so probes can see readiness',
      subject,
    );
  return fail(
    'grpc-health',
    `the health call failed: ${error.code}: ${error.message}`,
    'read the server logs; a gRPC call over this connection fails',
    subject,
  );
}

function formatSkew(ms: number): string {
  return `${formatAmount(ms)} ${ms >= 0 ? 'ahead of' : 'behind'}`;
}

function formatAmount(ms: number): string {
  const seconds = Math.round(Math.abs(ms) / 1000);
  return seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${seconds} s`;
}
