/**
 * How far this host's clock may be off when it checks a certificate it was just issued (after
 * enrollment and renewal), on top of the controller's back-dating of notBefore (5 minutes).
 *
 * @example
 * ```ts
 * validateX509Svid(chainPem, bundlePem, { at: new Date(), clockSkewToleranceMs: CLOCK_SKEW_TOLERANCE_MS });
 * ```
 */
export const CLOCK_SKEW_TOLERANCE_MS = 5 * 60_000;

/**
 * The hint for a certificate this host finds not valid yet: its clock is behind the issuer's, and
 * a new enrollment token would not help.
 *
 * @example
 * ```ts
 * throw new Error(`${err.message}${notYetValid(err) ? CHECK_THE_CLOCK : '; enroll again'}`);
 * ```
 */
export const CHECK_THE_CLOCK =
  "; this host's clock is behind the controller's by more than the tolerated skew: check the clock (NTP)";

/**
 * True when `error` says a certificate is not valid yet (`validateX509Svid`, TLS).
 *
 * @example
 * ```ts
 * if (notYetValid(err)) logger.error({ hint: CHECK_THE_CLOCK });
 * ```
 */
export function notYetValid(error: unknown): boolean {
  return /not valid before|not yet valid/i.test((error as Error)?.message ?? '');
}
