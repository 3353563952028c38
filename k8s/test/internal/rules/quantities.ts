// Kubernetes quantities and Go durations, read the way Kubernetes and Go read them.
/** A Kubernetes quantity in base units (cores, bytes); NaN when it cannot be read. */
export function parseQuantity(value: string | number | undefined): number {
  if (typeof value === 'number') return value;
  if (value === undefined) return Number.NaN;
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(value);
  if (match === null) return Number.NaN;
  const factor: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * (match[2] === undefined ? 1 : factor[match[2]]!);
}

/** A Go duration (`720h`, `1h30m`, `20m`) in seconds; NaN when it cannot be read. */
export function parseGoDuration(value: string | undefined): number {
  if (value === undefined || !/^(\d+(\.\d+)?(h|m|s|ms))+$/.test(value)) return Number.NaN;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3 };
  let seconds = 0;
  for (const [, amount, , u] of value.matchAll(/(\d+(\.\d+)?)(h|ms|m|s)/g))
    seconds += Number(amount) * unit[u!]!;
  return seconds;
}
