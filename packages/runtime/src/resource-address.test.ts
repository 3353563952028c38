import { parseResourceAddress, resourceContains, type ResourceAddress } from './resource-address';

const parsed = (text: string): ResourceAddress => {
  const result = parseResourceAddress(text);
  if (!result.ok) throw new Error(result.problem);
  return result.address;
};

describe('parseResourceAddress', () => {
  it('parses host:port, IPv6 and networks with a port or a range', () => {
    expect(parsed('db.internal:5432')).toEqual({ kind: 'host', host: 'db.internal', port: 5432 });
    expect(parsed('[::1]:22')).toEqual({ kind: 'host', host: '::1', port: 22 });
    expect(parsed('10.0.0.0/24:8000-8099')).toEqual({
      kind: 'network',
      network: '10.0.0.0',
      prefix: 24,
      family: 'ipv4',
      ports: { first: 8000, last: 8099 },
    });
    expect(parsed('[fd00::/64]:22')).toMatchObject({ family: 'ipv6', prefix: 64 });
  });

  it.each([
    ['db.internal', 'is not host:port'],
    ['db.internal:0', 'is not a port'],
    ['db.internal:70000', 'is not a port'],
    ['10.0.0.0/33:22', 'prefix length 33 is out of range 0-32'],
    ['10.0.0.0/24:90-80', 'is not a port (1-65535) or a range'],
    ['999.0.0.0/8:22', 'is not an IP network address'],
    ['bad_name!:22', 'is not a host name or IP address'],
    ['[10.0.0.1]:22', 'is not an IPv6 address'],
  ])('refuses %s', (text, problem) => {
    const result = parseResourceAddress(text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toContain(problem);
  });
});

describe('resourceContains', () => {
  it('admits only addresses inside the network and ports inside the range', () => {
    const network = parsed('127.0.0.0/30:5432-5433');
    expect(resourceContains(network, '127.0.0.1', 5432)).toBe(true);
    expect(resourceContains(network, '127.0.0.3', 5433)).toBe(true);
    expect(resourceContains(network, '127.0.0.4', 5432)).toBe(false);
    expect(resourceContains(network, '127.0.0.1', 5434)).toBe(false);
    expect(resourceContains(network, 'localhost', 5432)).toBe(false);
  });

  it('admits a host resource only at its own address and port', () => {
    const host = parsed('127.0.0.1:5432');
    expect(resourceContains(host, '127.0.0.1', 5432)).toBe(true);
    expect(resourceContains(host, '127.0.0.2', 5432)).toBe(false);
    expect(resourceContains(host, '127.0.0.1', 5433)).toBe(false);
  });
});
