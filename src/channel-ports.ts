import type { ChannelPorts, Clock, Config, Logger, MessageHandler } from './core/index.js';
import { applyDeliveryStatus } from './engine/index.js';
import { requireAdminToken } from './http/admin-auth.js';
import type { Knex } from './store/db.js';
import { agencyRouter, DEFAULT_AGENCY_ID, markReachability, runInAgency } from './store/index.js';
import { createSecretStore } from './store/secrets.js';
import { channelHistory } from './store/transcripts.js';

/**
 * The narrow ports every channel adapter gets: the engine, delivery statuses, a
 * channel user's history, secrets, the admin guard, log, clock and configuration.
 * Channels never see the database.
 */
export function createChannelPorts(deps: { knex: Knex; clock: Clock; engine: MessageHandler; log: Logger; config: Config }): ChannelPorts {
  const { knex, clock, config } = deps;
  // A message reaching an address another agency owns is that agency's turn: every query
  // of it runs on that agency's row-security-bound connections.
  const agencyOf = agencyRouter(knex, () => clock.now());
  const engine: MessageHandler = {
    async handle(message) {
      const agency = await agencyOf(message.channel, message.to);
      return agency === DEFAULT_AGENCY_ID ? deps.engine.handle(message) : runInAgency(agency, () => deps.engine.handle(message));
    },
  };
  return {
    engine,
    reportDeliveryStatus: (update) => applyDeliveryStatus(knex, update, clock.now()),
    reportReachability: (update) => markReachability(knex, update),
    history: (channel, userId, options) => channelHistory(knex, channel, userId, options),
    secrets: createSecretStore(knex, clock),
    adminGuard: requireAdminToken(() => config.ADMIN_TOKEN),
    log: deps.log,
    clock,
    config,
  };
}

