/**
 * `npm run bench:peer`: acuerdo and a BuilderBot bot (peer/server.ts: the @builderbot/bot
 * core with a PostgreSQL history like @builderbot/database-postgres) on the same short
 * flow, interleaved level by level. Settings as in all.ts.
 */
import { compare } from './all.js';

compare({ mix: false, ceiling: false, short: true, peer: true }).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
