import { InvalidArgumentError } from 'commander';
import {
  collectDnsNames,
  collectIpAddresses,
  flagParser,
  parseChoice,
  parseDays,
  parseDurationIn,
  parseDuration,
  parseIdentityNames,
  parseIsoTime,
  parseSpiffeIdFlag,
  parseTrustDomainFlag,
} from './parse';

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['15m', 900],
    ['24h', 86_400],
    ['30d', 2_592_000],
    ['90d', 7_776_000],
    ['1y', 31_536_000],
    [' 2h ', 7200],
    ['2h30m', 9000],
    ['100y', 3_153_600_000],
  ])('%s -> %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '24', 'h', '-1h', '1w', '1H', '24 h', 'forever'])(
    'refuses %j with the accepted forms, naming --ttl',
    (text) => {
      expect(rejection(() => parseDuration(text))).toBe(
        `--ttl=${JSON.stringify(text)} is not a duration (use a number with a unit: 90s, 15m, 1h).`,
      );
    },
  );

  it('refuses zero, parts of a second and absurd lifetimes', () => {
    expect(rejection(() => parseDuration('0s'))).toBe(
      '--ttl="0s": the duration must be greater than zero.',
    );
    expect(rejection(() => parseDuration('1500ms'))).toBe(
      '--ttl="1500ms": use whole seconds (e.g. 90s).',
    );
    expect(rejection(() => parseDuration('101y'))).toBe(
      '--ttl="101y": must be between 1s and 3153600000s.',
    );
  });
});

describe('parseDays', () => {
  it('takes whole days, zero included', () => {
    expect(parseDays('30')).toBe(30);
    expect(parseDays('0')).toBe(0);
  });

  it.each(['-1', '1.5', 'x', '', '30d'])('refuses %j', (text) => {
    expect(rejection(() => parseDays(text))).toBe(
      `'${text}' is not a whole number of days, such as 30.`,
    );
  });
});

describe('parseIsoTime', () => {
  it.each([
    ['2025-06-01', '2025-06-01T00:00:00.000Z'],
    ['2025-06-01T12:30', '2025-06-01T12:30:00.000Z'],
    ['2025-06-01T12:30:15Z', '2025-06-01T12:30:15.000Z'],
    ['2025-06-01T12:30:15.25Z', '2025-06-01T12:30:15.250Z'],
    ['2025-06-01T12:30:15+02:00', '2025-06-01T10:30:15.000Z'],
    ['2025-06-01T12:30:15-0130', '2025-06-01T14:00:15.000Z'],
    ['2025-06-01 12:30:15z', '2025-06-01T12:30:15.000Z'],
  ])('%s -> %s (UTC when no zone is given)', (text, iso) => {
    expect(parseIsoTime(text).toISOString()).toBe(iso);
  });

  it.each(['yesterday', '06/01/2025', '2025-6-1', '1717243200', '2025-06-01T12'])(
    'refuses %j as not ISO-8601',
    (text) => {
      expect(rejection(() => parseIsoTime(text))).toBe(
        `'${text}' is not an ISO-8601 time such as 2025-06-01T12:00:00Z.`,
      );
    },
  );

  it.each(['2025-02-30', '2025-13-01', '2025-06-01T25:00:00Z', '2025-06-01T12:61Z'])(
    'refuses the impossible time %j',
    (text) => {
      expect(rejection(() => parseIsoTime(text))).toBe(
        `'${text}' is not a valid calendar date and time.`,
      );
    },
  );
});

describe('SPIFFE flags', () => {
  it('accepts and canonicalises valid values', () => {
    expect(parseSpiffeIdFlag('spiffe://example.org/svc/api')).toBe('spiffe://example.org/svc/api');
    expect(parseTrustDomainFlag('example.org')).toBe('example.org');
  });

  it('names the SPIFFE rule that fails', () => {
    expect(rejection(() => parseSpiffeIdFlag('https://example.org/api'))).toMatch(
      /^invalid SPIFFE ID "https:\/\/example\.org\/api": the scheme must be "spiffe:\/\/"/,
    );
    expect(rejection(() => parseSpiffeIdFlag('spiffe://example.org/a/../b'))).toContain(
      '"." or ".."',
    );
    expect(rejection(() => parseTrustDomainFlag('Example.org'))).toMatch(
      /^invalid trust domain "Example\.org": the trust domain must be lowercase/,
    );
    expect(rejection(() => parseTrustDomainFlag('example.org:8443'))).toContain(
      'a port is not allowed',
    );
  });
});

describe('collectDnsNames and collectIpAddresses', () => {
  it('accumulate repeated and comma-separated values', () => {
    expect(collectDnsNames('b.local, *.c.local', collectDnsNames('a'))).toEqual([
      'a',
      'b.local',
      '*.c.local',
    ]);
    expect(collectIpAddresses(',127.0.0.1,,::1')).toEqual(['127.0.0.1', '::1']);
  });

  it('refuse what is not a DNS name or an IP address, quoting it', () => {
    expect(rejection(() => collectDnsNames('ok,bad name'))).toMatch(
      /^'bad name' is not a valid DNS name \(/,
    );
    expect(rejection(() => collectIpAddresses('1.2.3.4,1.2.3'))).toBe(
      "'1.2.3' is not a valid IP address.",
    );
  });
});

describe('parseDurationIn and parseChoice', () => {
  it('parse durations and choices, quoting a refused value', () => {
    expect(parseDurationIn()('1h30m')).toBe(5400);
    expect(rejection(() => parseDurationIn()('1w'))).toBe(
      "'1w' is not a duration (use a number with a unit: 90s, 15m, 1h)",
    );
    expect(rejection(() => parseDurationIn([60, 120])('1s'))).toBe(
      "'1s': must be between 60s and 120s",
    );
    expect(parseChoice(['a', 'b'], 'a letter')('b')).toBe('b');
    expect(rejection(() => parseChoice(['a', 'b'], 'a letter')('c'))).toBe(
      "'c' is not a letter (use a, b).",
    );
  });
});

describe('flagParser', () => {
  it('turns a refusal into a usage error that starts with the flag', () => {
    const parse = flagParser('--dns', collectDnsNames);
    expect(parse('a.local', [])).toEqual(['a.local']);
    try {
      parse('bad name', []);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toMatchObject({
        code: 'ERR_USAGE',
        message: expect.stringMatching(/^--dns: 'bad name' is not a valid DNS name \(/),
        details: { flag: '--dns', value: 'bad name' },
      });
    }
  });
});

describe('parseIdentityNames', () => {
  it('splits a comma-separated list', () => {
    expect(parseIdentityNames('api, worker,db-1,api.v2')).toEqual([
      'api',
      'worker',
      'db-1',
      'api.v2',
    ]);
  });

  it('refuses names that cannot be a DNS name, a SPIFFE segment and a directory', () => {
    expect(rejection(() => parseIdentityNames(''))).toBe(
      "'' is not a comma-separated list of names, such as api,worker.",
    );
    expect(rejection(() => parseIdentityNames('api,Worker'))).toBe(
      "'Worker' is not a valid name (lowercase letters, digits, hyphens and dots, like a DNS name).",
    );
    for (const bad of ['-api', 'api-', 'a_b', 'a/b', '..', 'a..b', 'x'.repeat(64)]) {
      expect(rejection(() => parseIdentityNames(bad))).toMatch(/is not a valid name/);
    }
  });

  it('refuses duplicates and the name of the CA directory', () => {
    expect(rejection(() => parseIdentityNames('api,db,api'))).toBe("'api' is listed twice.");
    expect(rejection(() => parseIdentityNames('api,ca'))).toBe(
      "'ca' is reserved for the directory of the CA itself.",
    );
  });
});
