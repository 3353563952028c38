import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AttributeTypeAndValue,
  AttributeValue,
  Name,
  RelativeDistinguishedName,
} from '@peculiar/asn1-x509';
import { x509 } from './x509-runtime';

const ID_COMMON_NAME = '2.5.4.3';

/**
 * A Name holding one UTF8String CN, built with @peculiar/asn1-x509: x509.Name's JSON form
 * mis-parses some values (`Ops, Root "A"` becomes `A` in 2.2.0).
 */
export function commonNameOnly(commonName: string): x509.Name {
  const name = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({
        type: ID_COMMON_NAME,
        value: new AttributeValue({ utf8String: commonName }),
      }),
    ]),
  ]);
  return new x509.Name(AsnConvert.serialize(name));
}
