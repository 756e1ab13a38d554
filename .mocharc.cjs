/** mocha runs TypeScript through tsx; test/support/hooks.ts provides the database. */
module.exports = {
  require: ['tsx/cjs', 'test/support/hooks.ts'],
  spec: ['test/**/*.test.ts'],
  extension: ['ts'],
  timeout: 20000,
  exit: true,
};
