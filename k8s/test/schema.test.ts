// Schema validation must reject what the API server would: a broken copy of a real render.
import type { KubernetesObject } from './internal/kinds';
import { loadRendered } from './internal/rendered';
import { validateSchemas } from './internal/schema';
import type { Loose } from './internal/loose';

const dev = loadRendered('overlays/dev');
const get = (objects: KubernetesObject[], kind: string, name: string): Loose =>
  objects.find((o) => o.kind === kind && o.metadata.name === name)!;

test.each<[string, (objects: KubernetesObject[]) => void, string, string]>([
  [
    'replicas as a string',
    (o) => (get(o, 'Deployment', 'user-service').spec.replicas = '3'),
    'Deployment/sigil/user-service',
    'replicas must be integer',
  ],
  [
    'Deployment without selector',
    (o) => delete get(o, 'Deployment', 'user-service').spec.selector,
    'Deployment/sigil/user-service',
    'must have required property selector',
  ],
  [
    'container port as text',
    (o) =>
      (get(
        o,
        'Deployment',
        'identity-service',
      ).spec.template.spec.containers[0].ports[0].containerPort = 'grpc'),
    'Deployment/sigil/identity-service',
    'containerPort must be integer',
  ],
  [
    'unknown rotation policy',
    (o) => (get(o, 'Certificate', 'content-service').spec.privateKey.rotationPolicy = 'Sometimes'),
    'Certificate/sigil/content-service',
    'rotationPolicy must be equal to one of the allowed values',
  ],
  [
    'unknown key usage',
    (o) => get(o, 'Certificate', 'content-service').spec.usages.push('mtls'),
    'Certificate/sigil/content-service',
    'usages/3 must be equal to one of the allowed values',
  ],
  [
    'Certificate without issuer',
    (o) => delete get(o, 'Certificate', 'identity-service').spec.issuerRef,
    'Certificate/sigil/identity-service',
    'must have required property issuerRef',
  ],
  [
    'NetworkPolicy port as a list',
    (o) => (get(o, 'NetworkPolicy', 'user-service').spec.ingress[0].ports = 50052),
    'NetworkPolicy/sigil/user-service',
    'ports must be array',
  ],
])('rejects %s', (_name, breakIt, object, message) => {
  const objects = structuredClone(dev);
  breakIt(objects);
  expect(validateSchemas(objects)).toEqual([{ object, message: expect.stringContaining(message) }]);
});

test('an object of a kind without a schema is a problem, not a pass', () => {
  expect(
    validateSchemas([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]),
  ).toEqual([{ object: 'Widget/w', message: 'no schema for example.com/v1/Widget' }]);
});
