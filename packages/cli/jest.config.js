module.exports = {
  ...require('../../jest.preset.js')(__dirname),
  // test/cli-process.test.ts runs the built executable.
  globalSetup: '<rootDir>/test/global-setup.js',
};
