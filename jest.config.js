// Root Jest configuration: one run over every package, service, example and end-to-end suite, one summary.
const fs = require('node:fs');
const path = require('node:path');

const dirs = [
  'proto',
  'k8s',
  'deploy',
  'bench',
  'packages',
  'services',
  'examples',
  'e2e',
  'tools',
].flatMap((group) => {
  const base = path.join(__dirname, group);
  if (['proto', 'k8s', 'deploy', 'bench'].includes(group)) return [base];
  return fs.existsSync(base) ? fs.readdirSync(base).map((name) => path.join(base, name)) : [];
});

module.exports = {
  projects: dirs.filter((dir) => fs.existsSync(path.join(dir, 'jest.config.js'))),
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
  maxWorkers: 2,
  // testTimeout is a global option: project-level values are ignored in a multi-project run.
  testTimeout: 30000,
};
