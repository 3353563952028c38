import { formatDuration } from './duration';

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [0.9, '0s'],
    [59, '59s'],
    [60, '1m'],
    [90, '1m 30s'],
    [3600, '1h'],
    [3661, '1h 1m'],
    [86_400, '1d'],
    [90_000, '1d 1h'],
    [3 * 86_400 + 5 * 60, '3d'],
    [400 * 86_400 + 7200, '400d 2h'],
    [-7200, '2h'],
  ])('%d seconds -> %s', (seconds, expected) => {
    expect(formatDuration(seconds)).toBe(expected);
  });
});
