import { shutdownTestServer } from './db.js';

/** mocha root hooks: whatever database server the suite started is stopped at the end. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await shutdownTestServer();
  },
};
