// Flat ESLint config for the whole workspace. TypeScript files are linted with type information
// (each file's nearest tsconfig.json, found by the project service), so run `pnpm build` first:
// imports of other workspace packages resolve to their built declarations. Import cycles are
// checked by `pnpm lint:cycles` (dpdm), which, unlike import-x/no-cycle, also counts `import type`.
const fs = require('node:fs');
const path = require('node:path');
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const importX = require('eslint-plugin-import-x');

/** Every workspace package directory, relative to the root (`packages/pki`, `e2e/control-plane`, ...). */
const workspaceDirs = [
  'proto',
  'k8s',
  'bench',
  'packages',
  'services',
  'examples',
  'e2e',
  'tools',
].flatMap((group) => {
  if (group === 'proto' || group === 'k8s' || group === 'bench') return [group];
  return fs
    .readdirSync(path.join(__dirname, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `${group}/${entry.name}`);
});

// A package's internal/ folders are its own: another package reaching into them by a relative
// path is caught here (bare `@sigil/x/...` specifiers are caught by no-restricted-imports below).
const internalZones = workspaceDirs.map((dir) => ({
  target: workspaceDirs.filter((other) => other !== dir).map((other) => `./${other}/**`),
  from: `./${dir}/**/internal/**`,
  message: `${dir}/**/internal is private to ${dir}: import its package entry point instead.`,
}));

module.exports = tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'proto/src/gen/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: __dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [
        importX.createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.json'] }),
      ],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'separate-type-imports' },
      ],
      'import-x/no-restricted-paths': ['error', { zones: internalZones }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@sigil/*/src/**', '@sigil/*/internal/**', '@sigil/*/dist/**'],
              message: 'Import a workspace package by its entry point, never a file inside it.',
            },
          ],
        },
      ],
    },
  },
);
