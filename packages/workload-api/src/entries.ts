/**
 * A registration entry as the serving agent holds it: the identity, the selectors a workload must
 * all have, and the SVID lifetimes.
 *
 * @example
 * ```ts
 * const entry: WorkloadEntry = { id: 'e1', spiffeId: 'spiffe://example.org/billing', selectors: ['unix:uid:1000'], x509TtlSeconds: 3600, jwtTtlSeconds: 300 };
 * ```
 */
export interface WorkloadEntry {
  readonly id: string;
  readonly spiffeId: string;
  readonly selectors: readonly string[];
  readonly x509TtlSeconds: number;
  readonly jwtTtlSeconds: number;
}

/**
 * The entries a workload is entitled to: those whose every selector is among the workload's
 * (SPIRE's rule; an entry without selectors matches nothing).
 *
 * @example
 * ```ts
 * matchEntries(entries, ['unix:uid:1000', 'unix:gid:1000']).map((e) => e.spiffeId);
 * ```
 */
export function matchEntries<E extends Pick<WorkloadEntry, 'selectors'>>(
  entries: readonly E[],
  selectors: readonly string[],
): E[] {
  const have = new Set(selectors);
  return entries.filter(
    (entry) => entry.selectors.length > 0 && entry.selectors.every((s) => have.has(s)),
  );
}
