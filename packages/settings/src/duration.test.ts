import { invalidSetting, parseDurationMs, parseDurationSeconds } from './index';

describe('parseDurationMs', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1y', 31_536_000_000],
    ['1y12h', 31_579_200_000],
    [' 1.5s ', 1_500],
  ])('parses %p', (text, ms) => expect(parseDurationMs(text, 'X_TTL')).toBe(ms));

  it.each(['10', '1 h', 'soon', '', '-1s', '1w'])('refuses %p naming the setting', (text) => {
    expect(() => parseDurationMs(text, 'CONNECTOR_CERT_TTL')).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message: `CONNECTOR_CERT_TTL=${JSON.stringify(text)} is not a duration (use a number with a unit: 90s, 15m, 1h)`,
        details: { variable: 'CONNECTOR_CERT_TTL', value: text },
      }),
    );
  });

  it('refuses zero', () => {
    expect(() => parseDurationMs('0s', 'AGENT_OFFLINE_AFTER')).toThrow(
      'AGENT_OFFLINE_AFTER="0s": the duration must be greater than zero',
    );
  });
});

describe('parseDurationSeconds', () => {
  it('wants whole seconds within the range', () => {
    expect(parseDurationSeconds('15m', 'T', [1, 86_400])).toBe(900);
    expect(() => parseDurationSeconds('1500ms', 'T', [1, 10])).toThrow(
      'T="1500ms": use whole seconds',
    );
    expect(() => parseDurationSeconds('2d', 'T', [1, 86_400])).toThrow(
      'T="2d": must be between 1s and 86400s',
    );
    expect(parseDurationSeconds('100y', 'T', [1, 3_153_600_000])).toBe(3_153_600_000);
  });
});

describe('invalidSetting', () => {
  it('names the setting, with or without the value, and keeps the given code', () => {
    const error = invalidSetting('SIGIL_TLS_MIN_VERSION', '"1.1" is not supported', {
      code: 'ERR_TLS_CONFIG_INVALID',
    });
    expect(error).toMatchObject({
      code: 'ERR_TLS_CONFIG_INVALID',
      message: 'SIGIL_TLS_MIN_VERSION: "1.1" is not supported',
      details: { variable: 'SIGIL_TLS_MIN_VERSION' },
    });
    expect(invalidSetting('--x', 'is too big', { value: '9' }).message).toBe('--x="9" is too big');
  });
});
