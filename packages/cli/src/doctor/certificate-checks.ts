// Checks of a certificate chain shared by `doctor tls` and `doctor agent`: expiry (by
// @sigil/cert-expiry's rule) and the X509-SVID rules with the chain to the bundle (by
// @sigil/grpc-tls's own check, which applies @sigil/pki's validator).
import type { X509Certificate } from 'node:crypto';
import { formatCertExpiry, validateCertExpiration } from '@sigil/cert-expiry';
import { isSigilError } from '@sigil/errors';
import { verifyIssuedBy } from '@sigil/grpc-tls';
import type { MaterialSources } from '@sigil/grpc-tls';
import { spiffeIdOfCertificate, X509_SVID_RULES } from '@sigil/pki';
import { fail, pass, warn } from './catalogue';
import type { DoctorCheckResult } from './catalogue';

/** How `certificate-expiry` names what to renew and how. */
export interface ExpiryAdvice {
  /** The file or identity, for the messages. */
  subject: string;
  /** The fix of an expired or expiring certificate, e.g. `renew it: sigil certs issue ...`. */
  renew: string;
  /** Pass inside the warning window: a renewal schedule is judged by another check (`agent-renewal`). */
  renewsItself?: boolean;
}

/**
 * `certificate-expiry`: the chain's first-expiring certificate against the warning window (a third
 * of its lifetime or `warnDays`, whichever comes later: @sigil/cert-expiry's rule).
 */
export function expiryCheck(
  chain: readonly X509Certificate[],
  now: Date,
  warnDays: number,
  advice: ExpiryAdvice,
): DoctorCheckResult {
  const report = validateCertExpiration(chain, { now, warnDays });
  const message = formatCertExpiry(report);
  switch (report.status) {
    case 'ok':
      return pass('certificate-expiry', message, advice.subject);
    case 'warning':
      if (advice.renewsItself) return pass('certificate-expiry', message, advice.subject);
      return warn(
        'certificate-expiry',
        message,
        `${advice.renew} before ${report.notAfter.toISOString()}`,
        advice.subject,
      );
    case 'expired':
      return fail('certificate-expiry', message, `${advice.renew} now`, advice.subject);
    default:
      return fail(
        'certificate-expiry',
        message,
        "check this host's clock (timedatectl, NTP): the certificate is issued for a later time",
        advice.subject,
      );
  }
}

/**
 * `chain-to-bundle` and `x509-svid`, from @sigil/grpc-tls's chain check. It is run at a moment
 * inside the leaf's validity, so that an expired certificate is `certificate-expiry`'s failure
 * alone and these two judge the structure. A certificate without a SPIFFE ID is only checked for
 * its chain, and warned about: peers that authorize by SPIFFE ID refuse it.
 */
export function chainChecks(
  chain: readonly X509Certificate[],
  bundle: readonly X509Certificate[],
  now: Date,
  sources: MaterialSources,
): DoctorCheckResult[] {
  const leaf = chain[0]!;
  const spiffeId = spiffeIdOfCertificate(leaf);
  const notBefore = new Date(leaf.validFrom).getTime();
  const notAfter = new Date(leaf.validTo).getTime();
  const at = new Date(Math.min(Math.max(now.getTime(), notBefore), notAfter - 1000));
  const subject = sources.certificate;
  const svidPass = () =>
    spiffeId === undefined
      ? warn(
          'x509-svid',
          'not an X509-SVID (no spiffe:// URI SAN): Sigil peers that authorize by SPIFFE ID refuse it',
          'issue it with a SPIFFE ID (sigil certs issue --spiffe-id spiffe://<trust-domain>/<path>) if Sigil peers call this service',
          subject,
        )
      : pass('x509-svid', `a valid X509-SVID for ${spiffeId}`, subject);
  try {
    verifyIssuedBy(chain, bundle, at, sources);
  } catch (err) {
    if (!isSigilError(err)) throw err;
    const message = err.message.replace(/\s*\n\s*/g, ' ');
    if (err.code === 'ERR_TLS_CA_MISMATCH') {
      return [
        fail(
          'chain-to-bundle',
          message,
          `put the CA that issued the certificate in ${sources.ca}, or install a certificate issued by that CA`,
          subject,
        ),
        svidPass(),
      ];
    }
    const rule = err.details?.['rule'];
    return [
      fail(
        'x509-svid',
        message,
        rule === X509_SVID_RULES.leafCa
          ? 'issue a workload certificate (CA:FALSE) for the service, e.g. sigil certs issue --spiffe-id ...: a CA certificate is no X509-SVID'
          : `issue the certificate from a Sigil CA (sigil certs issue, or the controller)${typeof rule === 'string' ? `: it breaks "${rule}"` : ''}`,
        subject,
      ),
    ];
  }
  return [pass('chain-to-bundle', `chains to a root in ${sources.ca}`, subject), svidPass()];
}
