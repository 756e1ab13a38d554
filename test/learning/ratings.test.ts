import assert from 'node:assert/strict';
import { ratingFrom, ratingReport, RATING_QUESTION } from '../../src/learning/index.js';
import { CARLOS_DIGITS, Chat, TestClock } from '../engine/support/harness.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { seedCarlos, startInstance, type Instance } from './support.js';

describe('learning: the rating at the end of a conversation', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let clock: TestClock;
  let bot: Instance;

  before(async () => {
    db = await freshDatabase();
    clock = new TestClock();
    await seedCarlos(db.knex);
    bot = await startInstance(db.knex, clock);
  });
  after(async () => {
    await bot?.stop();
    await db?.drop();
  });

  it('reads a rating from a button, its number or its text', () => {
    assert.equal(ratingFrom({ buttonId: 'calificacion_4' }), 4);
    assert.equal(ratingFrom({ text: '5' }), 5);
    assert.equal(ratingFrom({ text: 'la 2' }), 2);
    assert.equal(ratingFrom({ text: '3 ⭐⭐⭐' }), 3);
    assert.equal(ratingFrom({ text: 'hola' }), undefined);
    assert.equal(ratingFrom({ text: '7' }), undefined);
  });

  it('asks once after a goodbye from an identified debtor, then takes the rating and a masked comment', async () => {
    const chat = new Chat(bot.engine, 'rate-1', 'api', clock);
    await chat.send('hola');
    await chat.identify('93388915', CARLOS_DIGITS);
    const bye = await chat.send('bueno gracias, chao');
    assert.equal(bye.status, 'closed');
    const question = bye.replies.at(-1);
    assert.equal(question?.text, RATING_QUESTION.text);
    assert.deepEqual(question?.buttons?.map((b) => b.id), ['calificacion_1', 'calificacion_2', 'calificacion_3', 'calificacion_4', 'calificacion_5']);

    const rated = await chat.send('4');
    assert.match(chat.text, /Gracias por su calificación/);
    assert.equal(rated.conversationId, bye.conversationId);
    await chat.send('Muy buena atención, gracias. Soy Carlos, mi cel 3001234567');
    assert.match(chat.text, /Gracias por su comentario/);

    const row = await db.knex('ratings').where({ conversation_id: bye.conversationId }).first();
    assert.equal(row.rating, 4);
    assert.equal(row.status, 'done');
    assert.equal(row.channel, 'api');
    assert.ok(row.debtor_id, 'linked to the debtor');
    assert.equal(row.comment, 'Muy buena atención, gracias. Soy [nombre], mi cel [telefono]');
    assert.deepEqual(row.rated_at, clock.now());

    // The next message starts a conversation as usual; no second question.
    const again = await chat.send('hola');
    assert.notEqual(again.conversationId, bye.conversationId);
    assert.equal(await db.knex('ratings').where({ conversation_id: bye.conversationId }).count('* as n').first().then((r) => Number(r?.n)), 1);
  });

  it('is not asked after a handoff, an opt-out, or a goodbye from someone not identified', async () => {
    const handoff = new Chat(bot.engine, 'rate-2', 'api', clock);
    await handoff.send('hola');
    await handoff.identify('93388915', CARLOS_DIGITS);
    const agent = await handoff.send('quiero hablar con un asesor');
    assert.equal(agent.status, 'handoff');
    assert.ok(!agent.replies.some((r) => r.text === RATING_QUESTION.text));

    const stranger = new Chat(bot.engine, 'rate-3', 'api', clock);
    await stranger.send('hola');
    const bye = await stranger.send('chao, gracias');
    assert.equal(bye.status, 'closed');
    assert.ok(!bye.replies.some((r) => r.text === RATING_QUESTION.text));

    const optOut = new Chat(bot.engine, 'rate-4', 'api', clock);
    await optOut.send('hola');
    await optOut.identify('93388915', CARLOS_DIGITS);
    const stop = await optOut.send('no me escriban más por este medio');
    assert.ok(!stop.replies.some((r) => r.text === RATING_QUESTION.text));
    assert.equal(await db.knex('ratings').whereIn('user_id', ['rate-2', 'rate-3', 'rate-4']).count('* as n').first().then((r) => Number(r?.n)), 0);
  });

  it('goes through the outbox on channels not answered inline, and a new message skips an unanswered question', async () => {
    const chat = new Chat(bot.engine, 'tg-rate', 'telegram', clock);
    await chat.send('hola');
    await chat.identify('93388915', CARLOS_DIGITS);
    const bye = await chat.send('listo, gracias, hasta luego');
    assert.equal(bye.status, 'closed');
    const row = (await db.knex('outbox').where({ channel: 'telegram', recipient: 'tg-rate' }).orderBy('id', 'desc').first()) as { payload: { text: string }[] };
    assert.equal(row.payload[0]?.text, RATING_QUESTION.text);
    await chat.send('93388915');
    assert.equal((await db.knex('ratings').where({ user_id: 'tg-rate' }).first()).status, 'skipped');
  });

  it('reads nothing for a debtor mid-conversation, and a question superseded by a later conversation is never answered by it', async () => {
    const chat = new Chat(bot.engine, 'rate-5', 'api', clock);
    const first = await chat.send('hola');
    const sql: string[] = [];
    const listen = (q: { sql: string }) => sql.push(q.sql);
    db.knex.on('query', listen);
    try {
      await chat.send('93388915');
    } finally {
      db.knex.off('query', listen);
    }
    assert.ok(sql.length > 0, 'the turn was seen');
    assert.equal(sql.filter((s) => /"ratings"/.test(s)).length, 0, 'the live conversation is held here: no rating to look for');

    // Another process asked a question before this conversation opened (it closed an
    // earlier one). A process without this conversation cached reads the live conversation
    // once — the read its turn uses — and the live conversation opened since supersedes
    // the question: the next message is for the bot.
    await db.knex('ratings').insert({ conversation_id: first.conversationId, channel: 'api', user_id: 'rate-5', status: 'asked', asked_at: new Date(clock.now().getTime() - 60_000) });
    const other = await startInstance(db.knex, clock);
    try {
      const elsewhere = new Chat(other.engine, 'rate-5', 'api', clock);
      const missed: string[] = [];
      const record = (q: { sql: string }) => missed.push(q.sql);
      db.knex.on('query', record);
      let turn;
      try {
        turn = await elsewhere.send(CARLOS_DIGITS);
      } finally {
        db.knex.off('query', record);
      }
      assert.equal(missed.filter((q) => /select d\.duplicate/.test(q)).length, 1, 'the live conversation is read once for the hook and the turn');
      assert.equal(missed.filter((q) => /"ratings"/.test(q)).length, 0);
      assert.equal(turn.conversationId, first.conversationId, 'the engine took the message in the live conversation');
      assert.ok(!/Gracias por su calificación/.test(elsewhere.text));
      assert.equal((await db.knex('ratings').where({ user_id: 'rate-5' }).first()).status, 'asked', 'the superseded question is left alone');
    } finally {
      await other.stop();
    }
  });

  it('reports the distribution by portfolio, channel and week, and the comments', async () => {
    const report = await ratingReport(db.knex, { from: new Date(clock.now().getTime() - 7 * 86_400_000), to: new Date(clock.now().getTime() + 1) });
    assert.equal(report.total, 1);
    assert.deepEqual(report.distribution, { '1': 0, '2': 0, '3': 0, '4': 1, '5': 0 });
    assert.deepEqual(report.byPortfolio, [{ portfolio: 'TUYA', rating: 4, n: 1 }]);
    assert.deepEqual(report.byChannel, [{ channel: 'api', rating: 4, n: 1 }]);
    assert.deepEqual(report.byWeek, [{ week: '2026-W48', rating: 4, n: 1 }]);
    assert.equal(report.comments[0]?.comment, 'Muy buena atención, gracias. Soy [nombre], mi cel [telefono]');
  });
});
