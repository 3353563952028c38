import { formatDuration, formatRelative, formatTime, readProblem } from './format';

describe('formatTime', () => {
  it('shows an ISO time in UTC to the second', () => {
    expect(formatTime('2030-01-01T00:03:10.512Z')).toBe('2030-01-01 00:03:10 UTC');
    expect(formatTime('2030-01-01T02:03:10+02:00')).toBe('2030-01-01 00:03:10 UTC');
  });
  it('shows a dash for a missing or unparsable time', () => {
    expect(formatTime(null)).toBe('—');
    expect(formatTime(undefined)).toBe('—');
    expect(formatTime('soon')).toBe('—');
  });
});

describe('formatDuration and formatRelative', () => {
  const now = new Date('2030-01-01T12:00:00Z');
  it('uses the largest whole unit', () => {
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(60)).toBe('1 min');
    expect(formatDuration(7199)).toBe('1 h');
    expect(formatDuration(86_400 * 12)).toBe('12 d');
  });
  it('says ago for the past and in for the future', () => {
    expect(formatRelative('2030-01-01T11:59:48Z', now)).toBe('12 s ago');
    expect(formatRelative('2030-01-01T12:15:00Z', now)).toBe('in 15 min');
    expect(formatRelative('2030-01-01T12:00:00.200Z', now)).toBe('just now');
    expect(formatRelative('2030-01-01T12:00:02Z', now)).toBe('just now');
    expect(formatRelative('2030-01-01T12:00:03Z', now)).toBe('in 3 s');
    expect(formatRelative(null, now)).toBe('—');
  });
  it('reads a past event stamped later than the page clock as just now', () => {
    expect(formatRelative('2030-01-01T12:00:04Z', now, { past: true })).toBe('just now');
    expect(formatRelative('2030-01-01T11:59:48Z', now, { past: true })).toBe('12 s ago');
  });
});

describe('readProblem', () => {
  it('takes the detail and code of a problem body', () => {
    const body = JSON.stringify({
      title: 'A CA rotation step was refused.',
      detail: 'a generation is already prepared',
      code: 'ERR_CA_ROTATION_REFUSED',
      status: 409,
    });
    expect(readProblem(409, body)).toEqual({
      status: 409,
      code: 'ERR_CA_ROTATION_REFUSED',
      message: 'a generation is already prepared',
    });
  });
  it('falls back to reason, then title, then the status', () => {
    expect(readProblem(400, '{"reason":"kind must be set","title":"bad"}').message).toBe(
      'kind must be set',
    );
    expect(readProblem(403, '{"title":"Forbidden"}').message).toBe('Forbidden');
    expect(readProblem(502, '<html>bad gateway</html>')).toEqual({
      status: 502,
      message: 'the controller answered HTTP 502',
    });
  });
});
