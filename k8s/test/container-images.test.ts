// The images the manifests run (sigil/<name>:<version>), from deploy/docker/<name>/Dockerfile with
// the repository root as build context. Where a builder runs and can pull the base image, each is
// built and its user inspected; everywhere, each Dockerfile's structure is checked, and the output
// says which of the two ran.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority } from '@sigil/pki';
import { join } from 'node:path';
import {
  checkDockerfile,
  declaredVolumes,
  healthcheckAddress,
  parseDockerfile,
  stagesOf,
} from './internal/dockerfile';
import { buildImage, imageUser, probeBuilder } from './internal/image-builder';
import { K8S_ROOT, KUSTOMIZATIONS } from './internal/layout';
import type { Loose } from './internal/loose';
import { loadRendered } from './internal/rendered';

const ROOT = join(K8S_ROOT, '..');
const DOCKER_DIR = join(ROOT, 'deploy', 'docker');
/** Every deployable: the control plane and the sample services. */
const IMAGES = [
  'connector',
  'content-service',
  'controller',
  'identity-service',
  'tunneler',
  'user-service',
] as const;

const dockerfile = (name: string): string =>
  readFileSync(join(DOCKER_DIR, name, 'Dockerfile'), 'utf8');

/** The workspace package `@sigil/<name>` (services/ holds the control plane, examples/ the samples). */
function packageOf(name: string): { dir: string; version: string } {
  for (const group of ['services', 'examples']) {
    const dir = join(ROOT, group, name);
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string };
    if (pkg.name === `@sigil/${name}`) return { dir, version: pkg.version };
  }
  throw new Error(`no package @sigil/${name} under services/ or examples/`);
}

/** Every container of every Deployment and StatefulSet in every committed render. */
const containers: { render: string; container: Loose }[] = KUSTOMIZATIONS.flatMap(({ dir }) =>
  loadRendered(dir)
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
    .flatMap((o) => {
      const spec = (o as Loose).spec.template.spec;
      return [...(spec.initContainers ?? []), ...spec.containers].map((container: Loose) => ({
        render: dir,
        container,
      }));
    }),
);
const imageName = (image: string): string => image.replace(/^sigil\//, '').replace(/[:@].*$/, '');

test('deploy/docker has one Dockerfile per deployable, and a shared .dockerignore', () => {
  expect(
    readdirSync(DOCKER_DIR, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort(),
  ).toEqual([...IMAGES]);
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
  for (const pattern of ['**/node_modules', '**/dist', '.git', '**/.npmrc', '**/*.key', '**/*.pem'])
    expect([pattern, ignored.includes(pattern)]).toEqual([pattern, true]);
});

test('every sigil/* image of the manifests is built here, tagged with its package version (or dev)', () => {
  const images = containers
    .map(({ container }) => container.image as string)
    .filter((i) => i.startsWith('sigil/'));
  expect(images.length).toBeGreaterThan(0);
  for (const image of new Set(images)) {
    const name = imageName(image);
    expect([image, (IMAGES as readonly string[]).includes(name)]).toEqual([image, true]);
    const tag = image.split(':')[1];
    expect([image, tag === 'dev' || tag === packageOf(name).version]).toEqual([image, true]);
  }
});

describe.each(IMAGES)('deploy/docker/%s/Dockerfile', (name) => {
  const text = dockerfile(name);

  test('follows the image rules', () => {
    expect(checkDockerfile(text, { name, root: ROOT, servesHealth: true })).toEqual([]);
  });

  test('its build stage is the shared one, for its own package', () => {
    // Six Dockerfiles, one build recipe: only the package (and the controller's native toolchain) differ.
    const build = stagesOf(parseDockerfile(text))[0]!
      .instructions.filter((i) => !(i.keyword === 'RUN' && i.args.startsWith('apt-get')))
      .map((i) => `${i.keyword} ${i.args.replaceAll(`@sigil/${name}`, '@sigil/<name>')}`);
    const reference = stagesOf(
      parseDockerfile(dockerfile('identity-service')),
    )[0]!.instructions.map(
      (i) => `${i.keyword} ${i.args.replaceAll('@sigil/identity-service', '@sigil/<name>')}`,
    );
    expect(build).toEqual(reference);
  });

  test('declares every writable path the manifests mount, and health-checks the port they probe', () => {
    const volumes = declaredVolumes(text);
    const health = healthcheckAddress(text);
    expect(health).toBeDefined();
    const uses = containers.filter(({ container }) => imageName(container.image) === name);
    for (const { render, container } of uses) {
      for (const mount of container.volumeMounts ?? [])
        if (mount.readOnly !== true && mount.mountPath !== '/tmp')
          expect([render, mount.mountPath, volumes.includes(mount.mountPath)]).toEqual([
            render,
            mount.mountPath,
            true,
          ]);
      const probe = container.livenessProbe?.httpGet;
      if (probe === undefined) continue;
      const port = (container.ports as Loose[]).find(
        (p) => p.name === probe.port || p.containerPort === probe.port,
      );
      const address =
        (container.env as Loose[] | undefined)?.find((e) => e.name === health!.variable)?.value ??
        health!.fallback;
      expect([render, probe.path, address.split(':').at(-1)]).toEqual([
        render,
        '/healthz',
        String(port?.containerPort),
      ]);
    }
  });
});

describe('deploy/docker/healthcheck.js, the HEALTHCHECK of every image', () => {
  let status = 200;
  const server = createServer((request, response) => {
    response.statusCode = request.url === '/healthz' ? status : 404;
    response.end();
  });
  beforeAll(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const healthcheck = (env: Record<string, string>, fallback: string): Promise<number | null> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(DOCKER_DIR, 'healthcheck.js'), 'METRICS_LISTEN_ADDR', fallback],
        { env: { ...process.env, ...env }, timeout: 10_000 },
        (error) => resolve(error === null ? 0 : ((error as { code?: number }).code ?? null)),
      );
    });
  const port = (): number => (server.address() as AddressInfo).port;

  test('healthy: exit 0, on the port of the variable or of the default', async () => {
    status = 200;
    expect(await healthcheck({ METRICS_LISTEN_ADDR: `0.0.0.0:${port()}` }, '0.0.0.0:1')).toBe(0);
    expect(await healthcheck({ METRICS_LISTEN_ADDR: '' }, `0.0.0.0:${port()}`)).toBe(0);
  });

  test('unhealthy or not listening: exit 1', async () => {
    status = 503;
    expect(await healthcheck({ METRICS_LISTEN_ADDR: `0.0.0.0:${port()}` }, '0.0.0.0:1')).toBe(1);
    expect(await healthcheck({ METRICS_LISTEN_ADDR: '127.0.0.1:1' }, '0.0.0.0:1')).toBe(1);
  });

  test("an HTTPS health port (the controller's admin API with ADMIN_TLS): exit 0, and 1 when unhealthy", async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'images.test', commonName: 'CA' });
    const issued = await ca.issue({
      spiffeId: 'spiffe://images.test/controller',
      ipAddresses: ['127.0.0.1'],
      profile: 'server',
      ttlSeconds: 600,
    });
    const tls = createHttpsServer(
      { cert: issued.chainPem, key: issued.privateKeyPem! },
      (request, response) => {
        response.statusCode = request.url === '/healthz' ? status : 404;
        response.end();
      },
    );
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const address = `0.0.0.0:${(tls.address() as AddressInfo).port}`;
      status = 200;
      expect(await healthcheck({ METRICS_LISTEN_ADDR: address }, '0.0.0.0:1')).toBe(0);
      status = 503;
      expect(await healthcheck({ METRICS_LISTEN_ADDR: address }, '0.0.0.0:1')).toBe(1);
    } finally {
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    }
  });
});

describe('the image rules catch', () => {
  const good = dockerfile('controller');
  const check = (text: string): string[] =>
    checkDockerfile(text, { name: 'controller', root: ROOT, servesHealth: true });

  test.each<[string, (text: string) => string, string]>([
    ['a single stage', (t) => t.slice(t.lastIndexOf('FROM ')), 'must be multi-stage'],
    [
      'a floating base tag',
      (t) => t.replaceAll('node:20.20.2-bookworm-slim', 'node:20-bookworm-slim'),
      'must be pinned',
    ],
    ['latest', (t) => t.replaceAll('node:20.20.2-bookworm-slim', 'node:latest'), 'must be pinned'],
    [
      'two bases',
      (t) => t.replace('node:20.20.2-bookworm-slim AS build', 'node:20.20.2-bookworm AS build'),
      'one base image',
    ],
    ['root', (t) => t.replace('USER 10001:10001', 'USER root'), 'numeric non-root'],
    ['uid 0', (t) => t.replace('USER 10001:10001', 'USER 0'), 'numeric non-root'],
    ['no user', (t) => t.replace('USER 10001:10001\n', ''), 'must set USER'],
    [
      'an ADD of a URL',
      (t) => t.replace('WORKDIR /src', 'ADD https://example.com/tool.tgz /tmp/\nWORKDIR /src'),
      'fetches a URL',
    ],
    [
      'a token build argument',
      (t) => t.replace('WORKDIR /src', 'ARG NPM_TOKEN\nWORKDIR /src'),
      'ARG NPM_TOKEN looks like a secret',
    ],
    [
      'a password in the environment',
      (t) => t.replace('ENV NODE_ENV=production', 'ENV DB_PASSWORD=hunter2 NODE_ENV=production'),
      'ENV DB_PASSWORD looks like a secret',
    ],
    ['no HEALTHCHECK', (t) => t.replace(/HEALTHCHECK[^\n]*\\\n[^\n]*\n/, ''), 'add a HEALTHCHECK'],
    [
      'a COPY of a file that is not there',
      (t) => t.replace('deploy/docker/healthcheck.js', 'deploy/docker/health.js'),
      'COPY source deploy/docker/health.js does not exist',
    ],
    [
      'the whole context in the final stage',
      (t) => t.replace('COPY --from=build /out /opt/sigil/app', 'COPY . /opt/sigil/app'),
      'must not copy the whole build context',
    ],
    [
      'dev dependencies',
      (t) => t.replace('deploy --prod --legacy', 'deploy --legacy'),
      'deploy --prod',
    ],
    [
      'a shell-form entrypoint',
      (t) => t.replace('ENTRYPOINT ["sigil-controller"]', 'ENTRYPOINT sigil-controller'),
      'exec form',
    ],
    [
      'a wrong image title',
      (t) => t.replace('title="sigil/controller"', 'title="sigil/ctl"'),
      'image.title',
    ],
  ])('%s', (_name, breakIt, message) => {
    const broken = breakIt(good);
    expect(broken).not.toBe(good);
    expect(check(broken)).toContainEqual(expect.stringContaining(message));
  });
});

const builder = probeBuilder('node:20.20.2-bookworm-slim');
const mode =
  builder.tool === undefined
    ? `structure only: no builder can build here (${builder.reasons.join('; ')})`
    : `built with ${builder.tool}`;
console.log(`container images: ${mode}`);

(builder.tool === undefined ? describe.skip : describe)(`container images, ${mode}`, () => {
  test.each(IMAGES)(
    'sigil/%s builds and runs as 10001:10001',
    (name) => {
      const tag = `sigil/${name}:${packageOf(name).version}`;
      buildImage(builder.tool!, {
        dockerfile: join(DOCKER_DIR, name, 'Dockerfile'),
        tag,
        context: ROOT,
      });
      expect(imageUser(builder.tool!, tag)).toBe('10001:10001');
    },
    30 * 60_000,
  );
});
