const UNITS: readonly [string, number][] = [
  ['d', 86_400],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
];

/**
 * A short human duration with its two largest non-zero units: `3d 2h`, `5h 12m`, `42s`.
 * The sign is dropped (callers say "ago" or "in").
 */
export function formatDuration(seconds: number): string {
  let rest = Math.floor(Math.abs(seconds));
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    if (rest >= size || (unit === 's' && parts.length === 0)) {
      const count = Math.floor(rest / size);
      rest -= count * size;
      if (count > 0 || parts.length === 0) parts.push(`${count}${unit}`);
    } else if (parts.length > 0) {
      break;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}
