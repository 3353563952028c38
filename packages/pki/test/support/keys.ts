// A fixed RSA-2048 test key: generating RSA keys costs hundreds of milliseconds of CPU each, and
// tests that only need "some RSA key" share this one. Never use it outside tests.
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import type { KeyPair } from '../../src/keys';
import { importPrivateKeyPem } from '../../src/keys';

const RSA_2048_PEM = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC9NZOgZ2uUMd+E
f5cxLl2FOt6+VyvF00dRik0ToAzeie0erM69YCrtxenJEm8WcPxQiUm6wZsfPit/
wvvzJRTO+aSGw0HwjrP+ctk/YZIXAAY7u6TNCSwMz/F+g4JObsTZ9KAIT4AUeVgA
pSUYctuQSjDyp/RPTV1Bi7NFedi9x8Qp1p8E2Z8hK6nuFE6lOOw+UxMg07DaVL4W
cEEwFXiivRcy/qv6mCy9RBVUiW0mNKZ8rJaFfNl20OE2nT/LTLnX8N/KfGkGomhW
atkvA8rsbPCtKgY4o/NjWQtQ1lTaSu4xHQu/bvRDa9d5blOJF0UeIShGzwBIK/vw
l8WHqGGbAgMBAAECggEAEH7Gv4G0qcdNTr5W3oVFxvMybxKncMgyHAQ8Iv1dkdsh
bn6vSWhEZdVOw+ZVA/ZWsOi/IkZ1sRwY67sCfxiY/1BZTRxht8ihHYpCsVlexJ2O
bY+21t85VWadjaOGbTMP+1ZtyzuvFVnc17WODdsZlDM7oDQPQwiiHDBDMUflounM
nbER0Sl9/k394dMFu4ENEIRoJ7Ef2OBLm42dwng9cVeWDUIjE68fVW+3oP7zKWqo
WGapv9XAfkQkgdH8isO1Uadi4tyR3qAiawHFyerROZsuBbV1XzXbrCRU1M4yOT8Z
2/HnDnQbsYCXXgby72vDaOid158eMzVkFo9g9UkBuQKBgQDnx0Kg0bCvx+qXA9ZU
6J11Epj9/k001H8SX+3HwqmRvDxO0XBY8dZFm/JYcYZweGfUhZGesyFWVfTMrR5D
8KZMao3Z6mjCq8TJVkqJsWRuaXnBmLShWBXUWt0vh16/H7tElCBRvTLeStSfvwqo
1E5fO7VekqEpu8h/XaCd9OZEYwKBgQDQ+3iGwjZNeRyu04eW6mLwgLm3ZV0U8jm+
/IJe5fj0pvd05Eq4H/sB6+4ysexJH8uIDgu0bu67BfKPiBt5ucvFB448mEycSYaJ
0sBeBZUBOO82ellAjeCjE69ow3CBE1/2L1W2KW7HBITO5hVkY4UXaPNK+ziTwAvJ
pJNkkcvnaQKBgCjs8kLbQ8uGDVIlB09u0368je8rXA6cBuQDtES1hqOJDU0Nhjzu
VttrsdsUEJ0DZbIM862GC7jm7JbHarSsZXDQz8NOtLjLA7BZYEf33rfwP+ODR0HF
//TDJpMh4AT3YWW2kg5czgKaS/j5DrTI6B3AuUG9ul9YHQsASUAa4h3pAoGAYg0q
7qdezRi/EXPkETXluAvdlyOy+anw2CAnlxj1puxT/H9EY4F1xuAIgbajM2f8mdhl
O4I09oEC3r8wjPtUlRxHazzV7Ro+SpocccDSuaEZ84iSKcynkjwhN9lDBvytMJfi
8jYcaLpBCcZAUTq0blhqlkqqsAASR8i08yHI9skCgYEAzficFvFC/OfpO7GRbKrp
/HU9TGqaiYIpFnxrFggpO+F6W197Pb1xkAdSWxewG/9dXR56xE3l9IvVM3AJHvxg
x23BhGNZuKxt0DF6JggBQANcZCDxFGCBD6jT0kVpd8YPoTFBTFCnE9Vd+JSJh++f
pKD9znZfU0ifXwHW8AMyHL4=
-----END PRIVATE KEY-----
`;

export function rsaTestKey(): KeyPair {
  return importPrivateKeyPem(RSA_2048_PEM, 'RSA test key');
}

const RSA_3072_PUBLIC_PEM = `-----BEGIN PUBLIC KEY-----
MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEAuo1xzQBgJ0sR9rsQLegU
nARAOAJWxl4+un7+AOVZURhQD/gO9/4/Fb18QbAETu6vluHEpRE5X1NHZBVWcbCB
RsCXPqDfGhhmsNya7EqPfnfm+8+8jfCRQu9eCTOqHEmy5jir1sOsFXck/3MgqpVy
JB38zqEhKe2rkY+qeS3im7NPpkso47XFJ7sRMfyNV4RT3XHMHj6SMOdgI1/Kg3tE
zyj/d8dAmp0eIidWjmkBDXG+6xQWKLhrIWks6Z+IUz/i5E3Emix0A+dhZWWGYcSZ
QWymSF7oHreH2rvM1YZ7YwDKi4jAhPIKPqgwFn/la3leC1pRXKr6krDZ/XQH0spN
lPhRva2+GHfwkLo/jJvJHG1qmMFagQrINVi0LneHP+AvNogOPCTnmFf8KxMIX49K
ygUHfMyhYJvrCDtrVbuGIhWbbiSAgYSObvfuvbFoyzaq5LVxyKnm0J3hVyT120gQ
VOjGW/0N1r1yaOHr1LC5cY5PdYeyo/0ikIkCTFBRYcxzAgMBAAE=
-----END PUBLIC KEY-----
`;

/** An RSA-3072 public key, for "RSA above 2048 bits is accepted" checks. */
export function rsa3072PublicKey(): KeyObject {
  return createPublicKey(RSA_3072_PUBLIC_PEM);
}
