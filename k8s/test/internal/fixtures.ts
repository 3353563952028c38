// Small kustomizations exercising each feature of the renderer, written to a temporary directory.
// The valid ones are also rendered by `kubectl kustomize` in kustomize-parity.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** File path (relative to the fixture root) -> content. */
export type FixtureFiles = Readonly<Record<string, string>>;

/** Writes fixtures under one temporary directory; `cleanup()` removes it. */
export function createFixtureWriter(): {
  write(name: string, files: FixtureFiles): string;
  cleanup(): void;
} {
  const root = mkdtempSync(join(tmpdir(), 'sigil-kustomize-'));
  return {
    write(name, files) {
      const dir = join(root, name);
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
      return dir;
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const KUSTOMIZATION = 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
spec:
  replicas: 2
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: web
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web
    spec:
      containers:
        - name: app
          image: example/web:1.0.0
          ports:
            - name: http
              containerPort: 8080
          env:
            - name: A
              value: "1"
            - name: B
              value: "2"
          volumeMounts:
            - name: config
              mountPath: /etc/web
        - name: sidecar
          image: registry.example:5000/tools/sidecar:2.0
      volumes:
        - name: config
          configMap:
            name: web-config
`;

const CERTIFICATE = `apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: web
spec:
  secretName: web-tls
  uris:
    - spiffe://example.org/svc/web
  privateKey:
    algorithm: ECDSA
    size: 256
  issuerRef:
    kind: ClusterIssuer
    name: ca
`;

/** Kustomizations the renderer must render exactly like kustomize. */
export const VALID_FIXTURES: Readonly<Record<string, FixtureFiles>> = {
  'strategic-merge': {
    'kustomization.yaml': `${KUSTOMIZATION}resources:
  - deployment.yaml
  - certificate.yaml
patches:
  - target:
      kind: Deployment
      name: web
    patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: placeholder
      spec:
        revisionHistoryLimit: null
        template:
          spec:
            containers:
              - name: app
                env:
                  - name: B
                    value: "3"
                  - name: C
                    value: "4"
                resources:
                  limits:
                    memory: 64Mi
            volumes:
              - name: tmp
                emptyDir: {}
            topologySpreadConstraints:
              - maxSkew: 1
                topologyKey: kubernetes.io/hostname
                whenUnsatisfiable: DoNotSchedule
  - path: certificate-patch.yaml
    target:
      group: cert-manager.io
      kind: Certificate
`,
    'deployment.yaml': DEPLOYMENT,
    'certificate.yaml': CERTIFICATE,
    'certificate-patch.yaml': `apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: any
spec:
  uris:
    - spiffe://prod.example.org/svc/web
  privateKey:
    rotationPolicy: Always
`,
  },
  json6902: {
    'kustomization.yaml': `${KUSTOMIZATION}resources:
  - deployment.yaml
patches:
  - target:
      group: apps
      version: v1
      kind: Deployment
      labelSelector: app.kubernetes.io/name=web
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/env/-
        value:
          name: LOG_LEVEL
          value: debug
      - op: replace
        path: /spec/replicas
        value: 5
      - op: remove
        path: /spec/revisionHistoryLimit
`,
    'deployment.yaml': DEPLOYMENT,
  },
  generators: {
    'base/kustomization.yaml': `${KUSTOMIZATION}namespace: apps
resources:
  - deployment.yaml
configMapGenerator:
  - name: web-config
    files:
      - settings.yaml
      - extra.txt=notes/extra.txt
`,
    'base/deployment.yaml': DEPLOYMENT.replace(
      '          volumeMounts:',
      `          envFrom:
            - configMapRef:
                name: web-config
          volumeMounts:`,
    ),
    'base/settings.yaml': 'greeting: "<héllo> & goodbye"\nlist:\n  - 1\n',
    'base/notes/extra.txt': 'tab\there\n',
    'overlay/kustomization.yaml': `${KUSTOMIZATION}resources:
  - ../base
configMapGenerator:
  - name: web-config
    namespace: apps
    behavior: replace
    files:
      - settings.yaml
`,
    'overlay/settings.yaml': 'greeting: replaced\n',
  },
  transformers: {
    'kustomization.yaml': `${KUSTOMIZATION}namespace: team
labels:
  - pairs:
      app.kubernetes.io/part-of: demo
resources:
  - namespace.yaml
  - deployment.yaml
  - service.yaml
replicas:
  - name: web
    count: 4
images:
  - name: example/web
    newName: registry.example/web
    newTag: 1.2.3
  - name: registry.example:5000/tools/sidecar
    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
`,
    'namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n',
    'deployment.yaml': DEPLOYMENT,
    'service.yaml': `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app.kubernetes.io/name: web
  ports:
    - port: 80
      targetPort: http
`,
  },
};

/** Kustomizations the renderer must refuse, with a fragment of the expected message. */
export const INVALID_FIXTURES: Readonly<
  Record<string, { files: FixtureFiles; code: string; message: string }>
> = {
  'unsupported field': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}commonLabels:\n  a: b\nresources:\n  - deployment.yaml\n`,
      'deployment.yaml': DEPLOYMENT,
    },
    code: 'ERR_KUSTOMIZE_UNSUPPORTED',
    message: 'the field "commonLabels"',
  },
  'patch without target': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - deployment.yaml\npatches:\n  - path: patch.yaml\n`,
      'deployment.yaml': DEPLOYMENT,
      'patch.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n',
    },
    code: 'ERR_KUSTOMIZE_UNSUPPORTED',
    message: 'a patch without target',
  },
  'target matching nothing': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - deployment.yaml\npatches:\n  - target:\n      kind: Deployment\n      name: wbe\n    patch: |-\n      - op: remove\n        path: /spec/replicas\n`,
      'deployment.yaml': DEPLOYMENT,
    },
    code: 'ERR_KUSTOMIZE_INVALID',
    message: 'matches no object',
  },
  'JSON patch move': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - deployment.yaml\npatches:\n  - target:\n      kind: Deployment\n    patch: |-\n      - op: move\n        from: /spec/replicas\n        path: /spec/x\n`,
      'deployment.yaml': DEPLOYMENT,
    },
    code: 'ERR_KUSTOMIZE_UNSUPPORTED',
    message: 'JSON patch operation "move"',
  },
  'JSON patch on a missing path': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - deployment.yaml\npatches:\n  - target:\n      kind: Deployment\n    patch: |-\n      - op: replace\n        path: /spec/paused\n        value: true\n`,
      'deployment.yaml': DEPLOYMENT,
    },
    code: 'ERR_KUSTOMIZE_INVALID',
    message: 'cannot apply to Deployment/web',
  },
  'merging a list without a known merge key': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - deployment.yaml\npatches:\n  - target:\n      kind: Deployment\n    patch: |-\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata:\n        name: web\n      spec:\n        template:\n          spec:\n            containers:\n              - name: app\n                ports:\n                  - containerPort: 9090\n            hostAliases:\n              - ip: 127.0.0.1\n`,
      'deployment.yaml': DEPLOYMENT.replace(
        '      volumes:',
        '      hostAliases:\n        - ip: 10.0.0.1\n      volumes:',
      ),
    },
    code: 'ERR_KUSTOMIZE_UNSUPPORTED',
    message: 'merging the existing list spec.template.spec.hostAliases',
  },
  'strategic merge directive': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - deployment.yaml\npatches:\n  - target:\n      kind: Deployment\n    patch: |-\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata:\n        name: web\n      spec:\n        template:\n          spec:\n            containers:\n              - name: sidecar\n                $patch: delete\n`,
      'deployment.yaml': DEPLOYMENT,
    },
    code: 'ERR_KUSTOMIZE_UNSUPPORTED',
    message: 'the strategic merge directive $patch',
  },
  'octal-looking mode': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - deployment.yaml\n`,
      'deployment.yaml': DEPLOYMENT.replace(
        '            name: web-config',
        '            name: web-config\n            defaultMode: 0440',
      ),
    },
    code: 'ERR_KUSTOMIZE_INVALID',
    message: 'reads differently in YAML 1.1 and 1.2',
  },
  'YAML 1.1 boolean': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - deployment.yaml\n`,
      'deployment.yaml': DEPLOYMENT.replace('value: "1"', 'value: yes'),
    },
    code: 'ERR_KUSTOMIZE_INVALID',
    message: 'reads differently in YAML 1.1 and 1.2',
  },
  'file outside the root': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}configMapGenerator:\n  - name: c\n    files:\n      - ../secret.txt\n`,
      '../secret.txt': 'x',
    },
    code: 'ERR_KUSTOMIZE_INVALID',
    message: 'is outside the kustomization root',
  },
  'duplicate resource': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - deployment.yaml\n  - again.yaml\n`,
      'deployment.yaml': DEPLOYMENT,
      'again.yaml': DEPLOYMENT,
    },
    code: 'ERR_KUSTOMIZE_INVALID',
    message: 'Deployment/web is already defined',
  },
  'replacing a ConfigMap that does not exist': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}configMapGenerator:\n  - name: c\n    behavior: replace\n    files:\n      - a.txt\n`,
      'a.txt': 'x',
    },
    code: 'ERR_KUSTOMIZE_INVALID',
    message: 'matches 0 ConfigMaps',
  },
  'namespace on a cluster-scoped custom resource': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}namespace: cert-manager\nresources:\n  - issuer.yaml\n`,
      'issuer.yaml':
        'apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: ca\nspec:\n  selfSigned: {}\n',
    },
    code: 'ERR_KUSTOMIZE_INVALID',
    message:
      'ClusterIssuer/ca is cluster-scoped but kustomize would set namespace cert-manager on it',
  },
  'unknown kind': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - role.yaml\n`,
      'role.yaml':
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\nrules: []\n',
    },
    code: 'ERR_KUSTOMIZE_UNSUPPORTED',
    message: 'kind rbac.authorization.k8s.io/v1/Role',
  },
  'image entry matching no container': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - deployment.yaml\nimages:\n  - name: example/wbe\n    newTag: "2"\n`,
      'deployment.yaml': DEPLOYMENT,
    },
    code: 'ERR_KUSTOMIZE_INVALID',
    message: 'no container uses example/wbe',
  },
  'generated name referenced where it would not be renamed': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - deployment.yaml\nconfigMapGenerator:\n  - name: web-config\n    files:\n      - a.txt\n`,
      'deployment.yaml': DEPLOYMENT.replace(
        '    metadata:\n      labels:',
        '    metadata:\n      annotations:\n        config: web-config\n      labels:',
      ),
      'a.txt': 'x',
    },
    code: 'ERR_KUSTOMIZE_UNSUPPORTED',
    message: 'a reference to the generated ConfigMap web-config',
  },
  'labels on selectors': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}labels:\n  - pairs:\n      a: b\n    includeSelectors: true\nresources:\n  - deployment.yaml\n`,
      'deployment.yaml': DEPLOYMENT,
    },
    code: 'ERR_KUSTOMIZE_UNSUPPORTED',
    message: 'labels with includeSelectors or includeTemplates',
  },
  'remote resource': {
    files: {
      'kustomization.yaml': `${KUSTOMIZATION}resources:\n  - https://github.com/example/repo//k8s?ref=main\n`,
    },
    code: 'ERR_KUSTOMIZE_UNSUPPORTED',
    message: 'remote resource',
  },
};
