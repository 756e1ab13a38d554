import { TEST_NOW, testClock, testPorts } from '../support/ports.js';
import assert from 'node:assert/strict';
import { loadConfig, type InboundMessage, type TurnResult } from '../../src/core/index.js';
import { createAgency } from '../../src/ops/index.js';
import { runInAgency } from '../../src/store/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

describe('inbound messages reach the agency that owns the receiving address', function () {
  this.timeout(30_000);
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  it('runs the turn as the owning agency (rows land in it, under row-level security); unmapped or unknown addresses are the default agency’s', async () => {
    const clock = testClock();
    const norte = await createAgency(db.knex, { slug: 'norte', name: 'Cobros del Norte' }, clock.now());
    await db.knex('agencies').where({ id: norte.id }).update({ channel_addresses: JSON.stringify([{ channel: 'whatsapp-cloud', address: 'PN-NORTE' }]) });
    // An engine that stores the conversation, as the real one does, through the same knex.
    const engine = {
      async handle(m: InboundMessage): Promise<TurnResult> {
        const [row] = (await db.knex('conversations')
          .insert({ channel: m.channel, user_id: m.from, state: 'inicial', status: 'open', opened_at: clock.now(), last_activity_at: clock.now() })
          .returning('id')) as { id: string }[];
        return { conversationId: row!.id, state: 'inicial', replies: [], context: {}, duplicate: false };
      },
    };
    const ports = testPorts({ engine, config: loadConfig({}), knex: db.knex, clock });
    const message = (from: string, to?: string): InboundMessage => ({ channel: 'whatsapp-cloud', from, messageId: `m-${from}`, text: 'hola', at: new Date(TEST_NOW), ...(to ? { to } : {}) });
    const north = await ports.engine.handle(message('573001', 'PN-NORTE'));
    const other = await ports.engine.handle(message('573002', 'PN-OTRO'));
    const none = await ports.engine.handle(message('573003'));
    // Read as each agency: a row is there for its own agency only.
    const agencyOf = (agency: number, id: string) =>
      runInAgency(agency, async () => ((await db.knex('conversations').where({ id }).first('agency_id')) as { agency_id: number } | undefined)?.agency_id);
    assert.equal(await agencyOf(norte.id, north.conversationId), norte.id);
    assert.equal(await agencyOf(1, north.conversationId), undefined);
    assert.equal(await agencyOf(1, other.conversationId), 1);
    assert.equal(await agencyOf(1, none.conversationId), 1);
    assert.equal(await agencyOf(norte.id, none.conversationId), undefined);
  });
});
