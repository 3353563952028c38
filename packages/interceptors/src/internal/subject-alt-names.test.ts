import { parseSubjectAltNames } from './subject-alt-names';

describe('parseSubjectAltNames', () => {
  it('splits DNS and URI entries and ignores the others', () => {
    expect(
      parseSubjectAltNames(
        'DNS:a.example, URI:spiffe://example.org/svc/a, IP Address:127.0.0.1, DNS:b.example',
      ),
    ).toEqual({
      dnsNames: ['a.example', 'b.example'],
      uris: ['spiffe://example.org/svc/a'],
    });
  });

  it('decodes JSON-quoted values instead of splitting inside them', () => {
    // What Node prints for a URI SAN containing ", URI:" (CVE-2021-44532): one entry, not two.
    expect(
      parseSubjectAltNames('URI:"spiffe://example.org/a, URI:spiffe://example.org/admin", DNS:x'),
    ).toEqual({
      dnsNames: ['x'],
      uris: ['spiffe://example.org/a, URI:spiffe://example.org/admin'],
    });
  });

  it('handles no extension', () => {
    expect(parseSubjectAltNames(undefined)).toEqual({ dnsNames: [], uris: [] });
  });
});
