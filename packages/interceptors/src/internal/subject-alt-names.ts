/** The DNS and URI entries of a certificate's subjectAltName extension. */
export interface SubjectAltNames {
  dnsNames: string[];
  uris: string[];
}

/**
 * Parses Node's `subjectAltName` text (`DNS:a, URI:spiffe://td/x, IP Address:10.0.0.1`). Since
 * the CVE-2021-44532 fix Node JSON-quotes any value holding a comma, quote or other delimiter
 * (`URI:"spiffe://td/a,b"`), so a plain `split(', ')` would let a crafted SAN smuggle an entry;
 * quoted values are decoded with JSON.parse instead.
 */
export function parseSubjectAltNames(text: string | undefined): SubjectAltNames {
  const result: SubjectAltNames = { dnsNames: [], uris: [] };
  if (!text) return result;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon === -1) break;
    const type = text.slice(i, colon);
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      end = closingQuote(text, colon + 1);
      if (end === -1) break;
      value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      end += 1;
    } else {
      end = text.indexOf(', ', colon + 1);
      if (end === -1) end = text.length;
      value = text.slice(colon + 1, end);
    }
    if (type === 'DNS') result.dnsNames.push(value);
    else if (type === 'URI') result.uris.push(value);
    i = end + 2; // skip ", "
  }
  return result;
}

function closingQuote(text: string, open: number): number {
  for (let j = open + 1; j < text.length; j += 1) {
    if (text[j] === '\\') j += 1;
    else if (text[j] === '"') return j;
  }
  return -1;
}
