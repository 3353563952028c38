import { parseDurationMs } from './duration';

describe('parseDurationMs', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2d', 172_800_000],
  ])('parses %s', (text, ms) => {
    expect(parseDurationMs(text, 'X_TTL')).toBe(ms);
  });

  it.each(['10', '', 'h', '5 minutes', '-1s', '1x'])('refuses %p naming the variable', (text) => {
    expect(() => parseDurationMs(text, 'CONNECTOR_CERT_TTL')).toThrow(
      /CONNECTOR_CERT_TTL=.* is not a duration/,
    );
  });

  it('refuses a zero duration', () => {
    expect(() => parseDurationMs('0s', 'AGENT_OFFLINE_AFTER')).toThrow(
      /AGENT_OFFLINE_AFTER="0s": the duration must be greater than zero/,
    );
  });
});
