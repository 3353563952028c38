import { isSigilError } from '@sigil/errors';
import { parseForwards } from './forward-spec';

describe('parseForwards', () => {
  it('parses listen=resource and listen=resource@host:port entries', () => {
    expect(
      parseForwards('127.0.0.1:15432=pg-main, [::1]:2222=lab@10.0.0.7:22', 'TUNNELER_FORWARDS'),
    ).toEqual([
      { listen: { host: '127.0.0.1', port: 15432 }, resource: 'pg-main', target: '' },
      { listen: { host: '::1', port: 2222 }, resource: 'lab', target: '10.0.0.7:22' },
    ]);
  });

  it.each([
    ['127.0.0.1:15432', 'is not listen=resource'],
    ['127.0.0.1:15432=bad name', 'which is not a resource name'],
    ['127.0.0.1:15432=lab@10.0.0.7', 'which is not host:port'],
    ['127.0.0.1:1=a,127.0.0.1:1=b', '127.0.0.1:1 is listed twice'],
    ['', 'no forward given'],
    ['localhost=pg', 'is not a listen address'],
  ])('refuses %j naming the setting', (raw, why) => {
    let error: unknown;
    try {
      parseForwards(raw, '--forward');
    } catch (err) {
      error = err;
    }
    expect(isSigilError(error) && error.code).toBe('ERR_CONFIG_INVALID');
    expect((error as Error).message).toContain(why);
    expect((error as Error).message).toMatch(/--forward/);
  });
});
