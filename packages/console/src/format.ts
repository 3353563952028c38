// Pure text formatting for the console: times, relative times, durations and the message of an
// admin API refusal (an RFC 9457 problem body). No DOM here, so jest runs it in Node.

const UNITS: [limit: number, seconds: number, unit: string][] = [
  [60, 1, 's'],
  [3600, 60, 'min'],
  [86_400, 3600, 'h'],
  [Infinity, 86_400, 'd'],
];

/**
 * An ISO 8601 time as `YYYY-MM-DD HH:MM:SS UTC`; `—` for null, undefined or an unparsable value.
 *
 * @example
 * ```ts
 * formatTime('2030-01-01T00:03:10.512Z'); // '2030-01-01 00:03:10 UTC'
 * ```
 */
export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '—';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/**
 * A number of seconds in the largest whole unit: `45 s`, `3 min`, `5 h`, `12 d`.
 *
 * @example
 * ```ts
 * formatDuration(7200); // '2 h'
 * ```
 */
export function formatDuration(seconds: number): string {
  const abs = Math.abs(seconds);
  const [, size, unit] = UNITS.find(([limit]) => abs < limit)!;
  return `${Math.floor(abs / size)} ${unit}`;
}

/** Closer to now than this reads `just now`. */
const JUST_NOW_SECONDS = 3;

/**
 * How far `iso` is from `now`: `12 s ago`, `in 15 min`, `just now`; `—` when unknown. With
 * `past` (a time that has happened: last seen, created), a later time reads `just now`: the
 * page's clock ticks every few seconds and the browser's may lag the controller's.
 *
 * @example
 * ```ts
 * formatRelative('2030-01-01T00:00:00Z', new Date('2030-01-01T00:05:00Z')); // '5 min ago'
 * ```
 */
export function formatRelative(
  iso: string | null | undefined,
  now: Date,
  options: { past?: boolean } = {},
): string {
  if (iso === null || iso === undefined) return '—';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '—';
  const seconds = Math.round((ms - now.getTime()) / 1000);
  // A few seconds either way is the browser's and the controller's clocks disagreeing.
  if (Math.abs(seconds) < JUST_NOW_SECONDS || (options.past === true && seconds > 0))
    return 'just now';
  return seconds < 0 ? `${formatDuration(seconds)} ago` : `in ${formatDuration(seconds)}`;
}

/** What an admin API refusal says, as the console shows it. */
export interface ApiProblem {
  status: number;
  /** The Sigil error code (`ERR_ADMIN_CSRF`), when the body had one. */
  code?: string;
  message: string;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/**
 * The message of a refused admin API request from its status and body text: the problem body's
 * `detail`, else its `reason`, `title` or `error`, else the HTTP status.
 *
 * @example
 * ```ts
 * readProblem(409, '{"detail":"a generation is already prepared","code":"ERR_CA_ROTATION_REFUSED"}');
 * // { status: 409, code: 'ERR_CA_ROTATION_REFUSED', message: 'a generation is already prepared' }
 * ```
 */
export function readProblem(status: number, body: string): ApiProblem {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const fields =
    typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const message =
    text(fields.detail) ??
    text(fields.reason) ??
    text(fields.title) ??
    text(fields.error) ??
    `the controller answered HTTP ${status}`;
  const code = text(fields.code);
  return code === undefined ? { status, message } : { status, code, message };
}
