import { decodeObjectIdentifier, readTlv, tlv } from './der';

describe('readTlv', () => {
  it('finds the header, contents and end of short and long forms', () => {
    expect(readTlv(Buffer.from('0403aabbcc', 'hex'), 0)).toEqual({
      tag: 0x04,
      start: 0,
      contentStart: 2,
      end: 5,
    });
    const long = tlv(0x04, Buffer.alloc(300));
    expect(readTlv(long, 0)).toEqual({ tag: 0x04, start: 0, contentStart: 4, end: 304 });
  });

  it.each([
    ['a lone tag byte', '30', 'truncated'],
    ['a length past the limit', '3005aabb', 'runs past its container'],
    ['an indefinite length', '3080', 'unsupported DER length form'],
    ['a truncated long length', '3082aa', 'truncated'],
    ['a multi-byte tag', '1f2200', 'multi-byte DER tag'],
  ])('refuses %s', (_what, hex, message) => {
    expect(() => readTlv(Buffer.from(hex, 'hex'), 0)).toThrow(message);
  });

  it('refuses contents that run past the given limit even when the input is longer', () => {
    expect(() => readTlv(Buffer.from('3003aabbcc', 'hex'), 0, 4)).toThrow('runs past');
  });
});

describe('decodeObjectIdentifier', () => {
  it.each([
    ['2a8648ce3d0201', '1.2.840.10045.2.1'],
    ['2a8648ce3d030107', '1.2.840.10045.3.1.7'],
    ['2b6570', '1.3.101.112'],
    ['550403', '2.5.4.3'],
    ['8837', '2.999'],
  ])('decodes %s as %s', (hex, dotted) => {
    expect(decodeObjectIdentifier(Buffer.from(hex, 'hex'))).toBe(dotted);
  });

  it.each([
    ['empty contents', ''],
    ['an unterminated arc', '2a86'],
    ['a non-minimal arc', '2a8001'],
    ['an arc beyond 2^53', '2affffffffffffffff7f'],
  ])('refuses %s', (_what, hex) => {
    expect(() => decodeObjectIdentifier(Buffer.from(hex, 'hex'))).toThrow('OBJECT IDENTIFIER');
  });
});
