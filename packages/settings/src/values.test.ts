import {
  missingSetting,
  parseBoolean,
  parseList,
  parseNonNegativeInteger,
  parsePositiveIntegerValue,
} from './index';

describe('value parsers', () => {
  it('reads booleans in their usual spellings and names the setting otherwise', () => {
    expect(parseBoolean('Yes', 'X')).toBe(true);
    expect(parseBoolean('off', 'X')).toBe(false);
    expect(parseBoolean(true, 'X')).toBe(true);
    expect(() =>
      parseBoolean('maybe', 'GRPC_REQUIRE_CLIENT_CERT', 'ERR_TLS_CONFIG_INVALID'),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_TLS_CONFIG_INVALID',
        message: 'GRPC_REQUIRE_CLIENT_CERT: "maybe" is not a boolean (use true or false)',
      }),
    );
  });

  it('reads non-negative and positive integers', () => {
    expect(parseNonNegativeInteger(' 0 ', 'D')).toBe(0);
    expect(parseNonNegativeInteger(7, 'D')).toBe(7);
    expect(() => parseNonNegativeInteger('', 'D')).toThrow('D: "" is not a non-negative integer');
    expect(() => parseNonNegativeInteger(-1, 'D')).toThrow('D: "-1" is not a non-negative integer');
    expect(parsePositiveIntegerValue(' 12 ', 'T')).toBe(12);
    expect(() => parsePositiveIntegerValue('0', 'T')).toThrow('T="0" is not a positive integer');
  });

  it('splits comma-separated lists', () => {
    expect(parseList(' a, ,b ,')).toEqual(['a', 'b']);
  });
});

describe('missingSetting', () => {
  it('names the variable and every other way to set it', () => {
    expect(
      missingSetting(
        { env: ['CONNECTOR_ADDR', 'OLD_ADDR'], flag: 'connector-addr', yaml: 'connector.addr' },
        'sigil-tunneler enroll needs it',
      ),
    ).toMatchObject({
      code: 'ERR_CONFIG_MISSING',
      message:
        'CONNECTOR_ADDR is not set: sigil-tunneler enroll needs it (env CONNECTOR_ADDR, flag --connector-addr or connector.addr in the config file)',
      details: { variable: 'CONNECTOR_ADDR' },
    });
    expect(missingSetting({ env: 'TOKEN' }, 'needed').message).toBe(
      'TOKEN is not set: needed (env TOKEN)',
    );
  });
});
