// Shared Jest settings for every package, service and end-to-end suite. Workspace packages and
// services are resolved to their TypeScript sources so a test never runs against stale dist/.
const path = require('node:path');

const root = __dirname;

/** @param {string} dir the package directory (pass __dirname) */
module.exports = function preset(dir) {
  return {
    displayName: path.relative(root, dir),
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    transform: {
      '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(root, 'tsconfig.test.json') }],
    },
    moduleNameMapper: {
      '^@sigil/proto$': path.join(root, 'proto/src/index.ts'),
      '^@sigil/(controller|connector|tunneler)$': path.join(root, 'services/$1/src/index.ts'),
      '^@sigil/(identity-service|user-service|content-service)$': path.join(
        root,
        'examples/$1/src/index.ts',
      ),
      '^@sigil/grpc-service/testing$': path.join(root, 'packages/grpc-service/src/testing.ts'),
      '^@sigil/([a-z0-9-]+)$': path.join(root, 'packages/$1/src/index.ts'),
    },
    testTimeout: 30000,
  };
};
