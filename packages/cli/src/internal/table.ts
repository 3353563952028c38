/**
 * Aligned columns for human output: a header row, then one row per entry, cells padded to the
 * widest in their column and separated by two spaces, trailing space trimmed.
 *
 * @example
 * ```ts
 * formatTable(['ID', 'STATUS'], [['edge-1', 'ONLINE'], ['edge-22', 'REVOKED']]);
 * // 'ID       STATUS\nedge-1   ONLINE\nedge-22  REVOKED'
 * ```
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  return [header, ...rows]
    .map((row) =>
      header
        .map((_, i) => (row[i] ?? '').padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * An API timestamp with how far it is from `now`: `2030-01-01T00:03:10.512Z (12s ago)`,
 * `... (in 14m)`, `... (now)`, or `never` for a missing time.
 *
 * @example
 * ```ts
 * formatTimeFrom('2030-01-01T00:15:00.000Z', new Date('2030-01-01T00:00:30Z')); // '2030-01-01T00:15:00.000Z (in 14m)'
 * ```
 */
export function formatTimeFrom(iso: string | null | undefined, now: Date): string {
  if (iso === null || iso === undefined || iso === '') return 'never';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((at - now.getTime()) / 1000);
  const span = formatSpan(Math.abs(seconds));
  return `${iso} (${seconds < 0 ? `${span} ago` : seconds === 0 ? 'now' : `in ${span}`})`;
}

function formatSpan(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400)
    return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86_400)}d`;
}
