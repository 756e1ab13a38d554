import { ManualClock, type ChannelPorts, type Clock, type Config, type Logger, type MessageHandler } from '../../src/core/index.js';
import { createLogger } from '../../src/log.js';
import { createChannelPorts } from '../../src/channel-ports.js';
import type { Knex } from '../../src/store/db.js';

/** The date tests run at unless they say otherwise: far from any real "today". */
export const TEST_NOW = '2026-11-23T15:00:00Z';

export function testClock(at: string | Date = TEST_NOW): ManualClock {
  return new ManualClock(at);
}

const silent = createLogger({ level: 'silent', pretty: false });

/**
 * The ports a channel adapter gets, as the service builds them. Without a database
 * (adapter tests that never store anything) the storage ports fail loudly if called.
 */
export function testPorts(o: { engine: MessageHandler; config: Config; knex?: Knex; log?: Logger; clock?: Clock }): ChannelPorts {
  const clock = o.clock ?? testClock();
  const log = o.log ?? silent;
  if (o.knex) return createChannelPorts({ knex: o.knex, clock, engine: o.engine, log, config: o.config });
  const noDatabase = () => Promise.reject(new Error('this test gave the channel no database'));
  return {
    ...createChannelPorts({ knex: undefined as unknown as Knex, clock, engine: o.engine, log, config: o.config }),
    reportDeliveryStatus: noDatabase,
    reportReachability: noDatabase,
    history: noDatabase,
    secrets: { getOrCreate: async (_name, generate) => generate() },
  };
}

/** TEST_NOW as a Date, for the timestamps fixtures write (the database has no default times). */
export const TEST_TIME = new Date(TEST_NOW);
