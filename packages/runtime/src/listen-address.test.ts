import { isSigilError } from '@sigil/errors';
import { formatListenAddress, parseListenAddress } from './listen-address';

describe('parseListenAddress', () => {
  it.each([
    ['0.0.0.0:50051', { host: '0.0.0.0', port: 50051 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['localhost:9090', { host: 'localhost', port: 9090 }],
    ['[::1]:50052', { host: '::1', port: 50052 }],
    [' identity-service.sigil.svc:50051 ', { host: 'identity-service.sigil.svc', port: 50051 }],
  ])('parses %s', (value, expected) => {
    expect(parseListenAddress(value, 'GRPC_LISTEN_ADDR')).toEqual(expected);
  });

  it.each([
    '50051',
    '0.0.0.0',
    ':50051',
    '0.0.0.0:70000',
    '::1:50051',
    '[example]:1',
    'bad host:1',
    'host:port',
  ])('rejects %j with ERR_CONFIG_INVALID naming the variable', (value) => {
    expect.assertions(2);
    try {
      parseListenAddress(value, 'METRICS_LISTEN_ADDR');
    } catch (err) {
      expect(isSigilError(err, 'ERR_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(/^METRICS_LISTEN_ADDR=/);
    }
  });
});

describe('formatListenAddress', () => {
  it('brackets IPv6 literals and round-trips', () => {
    expect(formatListenAddress({ host: '::1', port: 1 })).toBe('[::1]:1');
    expect(formatListenAddress(parseListenAddress('10.0.0.1:443', 'X'))).toBe('10.0.0.1:443');
  });
});
