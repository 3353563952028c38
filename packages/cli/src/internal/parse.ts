// Flag value parsers. They throw commander's InvalidArgumentError with the bare reason; commander
// prefixes it with the flag and the value ("option '--ttl <duration>' argument '5x' is invalid.").
import { InvalidArgumentError } from 'commander';
import { isSigilError } from '@sigil/errors';
import { parseSpiffeId, parseTrustDomain } from '@sigil/pki';
import { parseDurationSeconds } from '@sigil/settings';

/** 100 years of 365 days: the longest `--ttl`. */
const MAX_DURATION_SECONDS = 100 * 365 * 86_400;
const IDENTITY_NAME =
  /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * A `--ttl` in whole seconds, read by the one duration parser of @sigil/settings: `90s`, `15m`,
 * `24h`, `30d`, `1y` (365 days), `1h30m`; zero and more than `100y` are refused.
 */
export function parseDuration(text: string): number {
  return rethrowAsInvalidArgument(() =>
    parseDurationSeconds(text, '--ttl', [1, MAX_DURATION_SECONDS]),
  );
}

/** A non-negative whole number of days. */
export function parseDays(text: string): number {
  if (!/^\d{1,6}$/.test(text.trim()))
    throw new InvalidArgumentError('Expected a whole number of days, such as 30.');
  return Number(text.trim());
}

/**
 * An ISO-8601 date or date-time. A date-time without a zone is taken as UTC so the same command
 * gives the same answer on every machine.
 */
export function parseIsoTime(text: string): Date {
  const match = ISO_8601.exec(text.trim());
  if (!match)
    throw new InvalidArgumentError('Expected an ISO-8601 time such as 2025-06-01T12:00:00Z.');
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', zone = 'Z'] =
    match;
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const date = new Date(
    `${year}-${month}-${day}T${hour}:${minute}:${second}${fraction.slice(0, 4)}${offset}`,
  );
  // Date rolls 2025-02-30 over into March: the calendar day must survive the round trip.
  const calendar = new Date(`${year}-${month}-${day}T00:00:00Z`);
  if (
    Number.isNaN(date.getTime()) ||
    Number.isNaN(calendar.getTime()) ||
    calendar.toISOString().slice(0, 10) !== `${year}-${month}-${day}`
  ) {
    throw new InvalidArgumentError('Not a valid calendar date and time.');
  }
  return date;
}

/** A SPIFFE ID, validated per the SPIFFE-ID specification. */
export function parseSpiffeIdFlag(text: string): string {
  return rethrowAsInvalidArgument(() => String(parseSpiffeId(text)));
}

/** A SPIFFE trust domain such as `example.org`. */
export function parseTrustDomainFlag(text: string): string {
  return rethrowAsInvalidArgument(() => parseTrustDomain(text));
}

/**
 * Collects the values of a repeatable flag (`--dns a --dns b`, `--dns a b`, `--dns a,b`). The CA
 * validates each DNS name and IP address, naming the one at fault.
 */
export function collectList(text: string, previous: string[] = []): string[] {
  return [...previous, ...splitList(text)];
}

/**
 * `a,b,c` to distinct identity names, each a lowercase DNS name (it becomes a DNS SAN, a SPIFFE
 * path segment and a directory name). `ca` is taken by the CA's own directory.
 */
export function parseIdentityNames(text: string): string[] {
  const names = splitList(text);
  if (names.length === 0)
    throw new InvalidArgumentError('Expected a comma-separated list of names, such as api,worker.');
  const seen = new Set<string>();
  for (const name of names) {
    if (!IDENTITY_NAME.test(name)) {
      throw new InvalidArgumentError(
        `"${name}" is not a valid name (lowercase letters, digits, hyphens and dots, like a DNS name).`,
      );
    }
    if (name === 'ca')
      throw new InvalidArgumentError('"ca" is reserved for the directory of the CA itself.');
    if (seen.has(name)) throw new InvalidArgumentError(`"${name}" is listed twice.`);
    seen.add(name);
  }
  return names;
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function rethrowAsInvalidArgument<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (isSigilError(err)) throw new InvalidArgumentError(`${err.message}.`);
    throw err;
  }
}
