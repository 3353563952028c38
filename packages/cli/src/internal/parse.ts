// Flag value parsers. They throw commander's InvalidArgumentError with the reason, which names the
// value ("'5x' is not a duration ..."); flagParser() turns it into a usage error that names the
// flag first ("--ttl: '5x' is not a duration ..."). The admin commands use parseDuration bare
// (commander's own "option '--ttl <duration>' argument '5x' is invalid." wording).
import { isIP } from 'node:net';
import { InvalidArgumentError } from 'commander';
import { isSigilError, SigilError } from '@sigil/errors';
import { isDnsName, parseSpiffeId, parseTrustDomain } from '@sigil/pki';
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

/**
 * Wraps a flag value parser so that a refusal is an `ERR_USAGE` error that starts with the flag:
 * `--dns: 'bad name' is not a valid DNS name (...)`.
 */
export function flagParser<T>(
  flag: string,
  parse: (text: string, previous: T) => T,
): (text: string, previous: T) => T {
  return (text, previous) => {
    try {
      return parse(text, previous);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      const reason = err.message.replace(/\.$/, '');
      throw new SigilError('ERR_USAGE', `${flag}: ${reason}`, {
        details: { flag, value: text },
      });
    }
  };
}

/**
 * A duration flag in whole seconds (`90s`, `15m`, `24h`, `30d`, `1y`, `1h30m`), within `range`;
 * the reason names the value, not the flag (use with {@link flagParser}).
 */
export function parseDurationIn(
  range: readonly [number, number] = [1, MAX_DURATION_SECONDS],
): (text: string) => number {
  return (text) => {
    try {
      return parseDurationSeconds(text, 'value', range);
    } catch (err) {
      if (!isSigilError(err)) throw err;
      // The settings parser says `value="5x" is not a duration ...` or `value="0s": the ...`.
      const reason = err.message.slice(`value=${JSON.stringify(text)}`.length);
      throw new InvalidArgumentError(`${quote(text)}${reason}`);
    }
  };
}

/** A non-negative whole number of days. */
export function parseDays(text: string): number {
  if (!/^\d{1,6}$/.test(text.trim()))
    throw new InvalidArgumentError(`${quote(text)} is not a whole number of days, such as 30.`);
  return Number(text.trim());
}

/** A non-negative whole number: a CA's pathLenConstraint. */
export function parsePathLength(text: string): number {
  if (!/^\d{1,2}$/.test(text.trim()))
    throw new InvalidArgumentError(`${quote(text)} is not a whole number such as 0 or 1.`);
  return Number(text.trim());
}

/** One of `choices` (`--key-type`, `--layout`). */
export function parseChoice<T extends string>(
  choices: readonly T[],
  what: string,
): (text: string) => T {
  return (text) => {
    if (!(choices as readonly string[]).includes(text))
      throw new InvalidArgumentError(`${quote(text)} is not ${what} (use ${choices.join(', ')}).`);
    return text as T;
  };
}

/** Collects DNS names (`--dns a --dns b,c`), each checked by the CA's rule. */
export function collectDnsNames(text: string, previous: string[] = []): string[] {
  const names = splitList(text);
  for (const name of names) {
    if (!isDnsName(name)) {
      throw new InvalidArgumentError(
        `${quote(name)} is not a valid DNS name (letters, digits and hyphens in dot-separated labels, optional leading "*.").`,
      );
    }
  }
  return [...previous, ...names];
}

/** Collects IPv4 and IPv6 addresses (`--ip 127.0.0.1,::1`). */
export function collectIpAddresses(text: string, previous: string[] = []): string[] {
  const addresses = splitList(text);
  for (const address of addresses) {
    if (isIP(address) === 0)
      throw new InvalidArgumentError(`${quote(address)} is not a valid IP address.`);
  }
  return [...previous, ...addresses];
}

/**
 * An ISO-8601 date or date-time. A date-time without a zone is taken as UTC so the same command
 * gives the same answer on every machine.
 */
export function parseIsoTime(text: string): Date {
  const match = ISO_8601.exec(text.trim());
  if (!match) {
    throw new InvalidArgumentError(
      `${quote(text)} is not an ISO-8601 time such as 2025-06-01T12:00:00Z.`,
    );
  }
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
    throw new InvalidArgumentError(`${quote(text)} is not a valid calendar date and time.`);
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
 * `a,b,c` to distinct identity names, each a lowercase DNS name (it becomes a DNS SAN, a SPIFFE
 * path segment and a directory name). `ca` is taken by the CA's own directory.
 */
export function parseIdentityNames(text: string): string[] {
  const names = splitList(text);
  if (names.length === 0) {
    throw new InvalidArgumentError(
      `${quote(text)} is not a comma-separated list of names, such as api,worker.`,
    );
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (!IDENTITY_NAME.test(name)) {
      throw new InvalidArgumentError(
        `${quote(name)} is not a valid name (lowercase letters, digits, hyphens and dots, like a DNS name).`,
      );
    }
    if (name === 'ca')
      throw new InvalidArgumentError(`'ca' is reserved for the directory of the CA itself.`);
    if (seen.has(name)) throw new InvalidArgumentError(`${quote(name)} is listed twice.`);
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

/** A flag value as the messages show it: in single quotes, the way a shell user typed it. */
function quote(text: string): string {
  return `'${text.slice(0, 80)}'`;
}

function rethrowAsInvalidArgument<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (isSigilError(err)) throw new InvalidArgumentError(`${err.message}.`);
    throw err;
  }
}
