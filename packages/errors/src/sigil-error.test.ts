import { SigilError, isSigilError } from './index';

describe('SigilError', () => {
  it('carries a stable code, a message and frozen details', () => {
    const err = new SigilError('ERR_TLS_ENV_MISSING', 'GRPC_SERVER_CERT_PATH is not set', {
      details: { variable: 'GRPC_SERVER_CERT_PATH' },
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SigilError');
    expect(err.code).toBe('ERR_TLS_ENV_MISSING');
    expect(err.details).toEqual({ variable: 'GRPC_SERVER_CERT_PATH' });
    expect(Object.isFrozen(err.details)).toBe(true);
    expect(err.toJSON()).toEqual({
      code: 'ERR_TLS_ENV_MISSING',
      message: 'GRPC_SERVER_CERT_PATH is not set',
      details: { variable: 'GRPC_SERVER_CERT_PATH' },
    });
  });

  it('normalises foreign errors and keeps the cause', () => {
    const cause = new TypeError('boom');
    const err = SigilError.from(cause, 'ERR_CONFIG_INVALID');
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toBe('boom');
    expect(err.cause).toBe(cause);
    expect(SigilError.from('text').code).toBe('ERR_INTERNAL');
    const same = new SigilError('ERR_USAGE', 'x');
    expect(SigilError.from(same)).toBe(same);
  });

  it('isSigilError checks class and code', () => {
    const err = new SigilError('ERR_PEM_MALFORMED', 'bad');
    expect(isSigilError(err)).toBe(true);
    expect(isSigilError(err, 'ERR_PEM_MALFORMED')).toBe(true);
    expect(isSigilError(err, 'ERR_KEY_MISMATCH')).toBe(false);
    expect(isSigilError(new Error('x'))).toBe(false);
  });
});
