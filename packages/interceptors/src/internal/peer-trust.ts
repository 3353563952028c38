import type { X509Certificate } from 'node:crypto';
import { isSigilError } from '@sigil/errors';
import { validateX509Svid } from '@sigil/pki';
import type { PeerTrust } from '../peer-identity-types';
import { BoundedCache } from './bounded-cache';

const VERDICT_CACHE_SIZE = 1024;

/** A successful validation: it holds while the bundle and trust domain stay and the path is valid. */
interface Verdict {
  readonly bundlePem: string;
  readonly intermediatesPem: string;
  readonly trustDomain: string | undefined;
  readonly from: number;
  readonly until: number;
}

// Path validation costs a parse of the bundle and signature checks; every call of a connection
// presents the same certificate, so a success is kept per certificate (SHA-256 fingerprint) and
// re-checked by time window alone until the bundle changes. Failures are not kept: only
// certificates that passed the TLS handshake get here, so they are rare.
const verdicts = new BoundedCache<string, Verdict>(VERDICT_CACHE_SIZE);

/**
 * Why `certificate` is not an identity under `trust` now (`undefined` when it is one): the
 * X509-SVID rules, the validity of every certificate of the path, and a path to a bundle root.
 */
export function certificateProblem(
  certificate: X509Certificate,
  trust: PeerTrust,
): string | undefined {
  const bundlePem = trust.bundlePem();
  const intermediatesPem = trust.intermediatesPem?.() ?? '';
  const now = (trust.clock ?? (() => new Date()))();
  const at = now.getTime();
  const key = certificate.fingerprint256;
  const verdict = verdicts.get(key);
  if (
    verdict !== undefined &&
    verdict.bundlePem === bundlePem &&
    verdict.intermediatesPem === intermediatesPem &&
    verdict.trustDomain === trust.trustDomain &&
    verdict.from <= at &&
    at <= verdict.until
  )
    return undefined;
  try {
    const { path } = validateX509Svid([certificate], bundlePem, {
      at: now,
      ...(intermediatesPem.trim() === '' ? {} : { intermediates: intermediatesPem }),
      ...(trust.trustDomain === undefined ? {} : { trustDomain: trust.trustDomain }),
    });
    verdicts.set(key, {
      bundlePem,
      intermediatesPem,
      trustDomain: trust.trustDomain,
      from: Math.max(...path.map((c) => Date.parse(c.validFrom))),
      until: Math.min(...path.map((c) => Date.parse(c.validTo))),
    });
    return undefined;
  } catch (err) {
    if (!isSigilError(err)) throw err;
    return err.message;
  }
}
