import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import type { InboundMessage, OutboundChannel, Reply } from '../../src/core/index.js';
import { parseFlow } from '../../src/flows/index.js';
import { createKnex } from '../../src/store/db.js';
import { CARLOS, CARLOS_DIGITS, Chat, engineFixture, insertDebtor, insertPortfolio, quietLog, type EngineFixture } from './support/harness.js';

interface MessageRow {
  id: number;
  direction: string;
  text: string | null;
  external_id: string | null;
  intent: string | null;
  confidence: number | null;
  nlu_source: string | null;
  entities: Record<string, unknown> | null;
  previous_state: string;
  next_state: string;
}

async function messagesOf(knex: Knex, conversationId: string): Promise<MessageRow[]> {
  return (await knex('messages').where({ conversation_id: conversationId }).orderBy('id')) as MessageRow[];
}

/** Each inbound message starts where the previous one left the conversation: no turn was lost or interleaved. */
function assertTurnsChain(rows: MessageRow[]): void {
  const inbound = rows.filter((r) => r.direction === 'in');
  for (let i = 1; i < inbound.length; i++) {
    assert.equal(inbound[i]?.previous_state, inbound[i - 1]?.next_state, `turn ${i + 1} starts where turn ${i} ended`);
  }
}

describe('the conversation engine', function () {
  let f: EngineFixture;
  let portfolioId: number;

  before(async () => {
    f = await engineFixture();
    portfolioId = await insertPortfolio(f.knex, 'Demo');
    await insertDebtor(f.knex, portfolioId, CARLOS);
  });
  after(async () => f?.db.drop());

  it('stores every inbound and outbound message with its NLU result and previous and next state', async () => {
    const chat = new Chat(f.engine);
    await chat.send('hola');
    const asked = await chat.send('mi cédula es 93388915');
    assert.equal(asked.state, 'verificar_identidad');
    assert.equal(asked.previousState, 'inicial');
    const r = await chat.send(CARLOS_DIGITS);
    assert.equal(r.state, 'informar_deuda');
    assert.equal(r.previousState, 'verificar_identidad');
    const rows = await messagesOf(f.knex, r.conversationId);
    const inbound = rows.filter((m) => m.direction === 'in');
    assert.deepEqual(
      inbound.map((m) => [m.text, m.intent, m.nlu_source, m.previous_state, m.next_state]),
      [
        ['hola', 'saludo', 'rules', 'inicial', 'inicial'],
        ['mi cédula es 93388915', 'identificacion', 'cedula', 'inicial', 'verificar_identidad'],
        [CARLOS_DIGITS, 'fuera_de_tema', 'rules', 'verificar_identidad', 'informar_deuda'],
      ],
    );
    assert.deepEqual(inbound[1]?.entities, { cedula: '93388915' });
    const outbound = rows.filter((m) => m.direction === 'out');
    assert.equal(outbound.length, 5, 'two greetings, the identity question, then the two messages of informar_deuda');
    assert.ok(outbound.every((m) => m.intent !== null && m.previous_state !== null && m.next_state !== null));
    assert.match(outbound.at(-1)?.text ?? '', /\$123\.456/);
    const conv = await f.knex('conversations').where({ id: r.conversationId }).first();
    assert.equal(conv.debtor_id !== null, true, 'the debtor is bound to the conversation');
    assert.equal(conv.message_count, 3);
  });

  it('answers a repeated delivery once: the repeat is marked duplicate, gets no reply and is not stored', async () => {
    const chat = new Chat(f.engine);
    const first = await chat.send('hola', { messageId: 'tg-777' });
    const again = await chat.send('hola', { messageId: 'tg-777' });
    assert.equal(first.duplicate, false);
    assert.ok(first.replies.length > 0);
    assert.equal(again.duplicate, true);
    assert.deepEqual(again.replies, []);
    assert.equal(again.conversationId, first.conversationId);
    const stored = await f.knex('messages').where({ channel: 'api', external_id: 'tg-777' }).count<{ n: string }[]>('* as n');
    assert.equal(Number(stored[0]?.n), 1);
  });

  it('handles a delivery repeated at the same instant exactly once', async () => {
    const chat = new Chat(f.engine);
    await chat.send('hola');
    const message: InboundMessage = { channel: 'api', from: chat.from, messageId: 'same-id', text: '93388915', at: new Date() };
    const results = await Promise.all([f.engine.handle(message), f.engine.handle(message), f.engine.handle(message)]);
    assert.equal(results.filter((r) => !r.duplicate).length, 1);
    assert.equal(results.filter((r) => r.duplicate && r.replies.length === 0).length, 2);
    const conv = await f.knex('conversations').where({ id: results[0]?.conversationId }).first();
    assert.equal(conv.message_count, 2);
  });

  it('serializes messages a person sends at once: none is lost and each turn starts where the last ended', async () => {
    const chat = new Chat(f.engine);
    await chat.send('hola');
    await chat.send('93388915');
    const texts = ['quiero pagar', '1', 'sí', 'otra cosa', 'cuotas', '2', 'listo', 'no sé', 'hola', 'gracias?'];
    const results = await Promise.all(texts.map((t) => chat.send(t)));
    const conversationId = results[0]?.conversationId as string;
    const rows = await messagesOf(f.knex, conversationId);
    const inbound = rows.filter((m) => m.direction === 'in');
    // All twelve turns are stored (until one of them closes the conversation, the rest open a new one).
    const all = await f.knex('messages').whereIn('conversation_id', [...new Set(results.map((r) => r.conversationId))]).where({ direction: 'in' });
    assert.equal(all.length, 12);
    assertTurnsChain(rows);
    const conv = await f.knex('conversations').where({ id: conversationId }).first();
    assert.equal(conv.message_count, inbound.length);
    assert.equal(conv.state, inbound.at(-1)?.next_state);
  });

  it('serializes across processes: two connection pools, one conversation, a consistent chain of turns', async () => {
    const otherKnex = createKnex(f.db.url, 5);
    try {
      const engineB = f.makeEngine({ knex: otherKnex });
      const user = `two-pools-${Date.now()}`;
      const send = (engine: Engine, text: string, i: number) =>
        engine.handle({ channel: 'telegram', from: user, messageId: `tp-${i}`, text, at: new Date() });
      const texts = ['hola', '93388915', 'quiero pagar', 'asdf', 'cuotas', 'ummm', 'qué?', 'hola', 'ok', 'dale'];
      const results = await Promise.all(texts.map((t, i) => send(i % 2 ? engineB : f.engine, t, i)));
      const ids = new Set(results.map((r) => r.conversationId));
      const convs = (await f.knex('conversations').where({ channel: 'telegram', user_id: user }).orderBy('opened_at')) as { id: string; status: string }[];
      assert.ok(convs.filter((c) => c.status === 'open' || c.status === 'handoff').length <= 1, 'never two live conversations');
      for (const id of ids) assertTurnsChain(await messagesOf(f.knex, id));
      const inbound = await f.knex('messages').whereIn('conversation_id', [...ids]).where({ direction: 'in' });
      assert.equal(inbound.length, texts.length);

      // Taking turns, one after the other: each process must see what the other saved —
      // the conversation's state, and the agreement it recorded (the negotiation's memory).
      // A debtor of its own, so no earlier test's agreement is in the way.
      const portfolioId = await insertPortfolio(f.knex, `Serial ${Date.now()}`, { verification: 'ninguna' });
      const debtorId = await insertDebtor(f.knex, portfolioId, { ...CARLOS, cedula: '71239901' });
      const other = `alternating-${Date.now()}`;
      const steps = ['hola', '71239901', 'quiero pagar', '1', 'sí, confirmo'];
      const states: string[] = [];
      for (const [i, text] of steps.entries()) {
        const r = await (i % 2 ? engineB : f.engine).handle({ channel: 'telegram', from: other, messageId: `alt-${i}`, text, at: new Date() });
        states.push(r.state);
      }
      assert.deepEqual(states, ['inicial', 'informar_deuda', 'proponer_planes_pago', 'confirmar_acuerdo', 'finalizar_conversacion']);
      const [agreed] = (await f.knex('agreements').where({ debtor_id: debtorId, status: 'vigente' })) as { reference: string }[];
      assert.ok(agreed, 'process A recorded the agreement');
      // The same debtor comes back on another chat: process B finds the agreement A recorded and states it; no second one.
      const again = `remembers-${Date.now()}`;
      await f.engine.handle({ channel: 'telegram', from: again, messageId: 'mem-0', text: 'hola', at: new Date() });
      const back = await engineB.handle({ channel: 'telegram', from: again, messageId: 'mem-1', text: '71239901', at: new Date() });
      assert.equal(back.state, 'acuerdo_vigente');
      assert.ok(back.replies.some((r) => r.text.includes(agreed.reference)), 'the agreement’s reference is stated');
      const vigentes = await f.knex('agreements').where({ debtor_id: debtorId, status: 'vigente' });
      assert.equal(vigentes.length, 1, 'never a second vigente agreement on one debt');
    } finally {
      await otherKnex.destroy();
    }
  });

  it('never records a second vigente agreement: one recorded meanwhile (an agent, another chat) is stated instead', async () => {
    const portfolioId = await insertPortfolio(f.knex, `Memoria ${Date.now()}`, { verification: 'ninguna' });
    const debtorId = await insertDebtor(f.knex, portfolioId, { ...CARLOS, cedula: '71239902' });
    const chat = new Chat(f.engine);
    await chat.send('hola');
    await chat.send('71239902');
    await chat.send('quiero pagar');
    const confirm = await chat.send('1');
    assert.equal(confirm.state, 'confirmar_acuerdo');
    const at = f.clock.now();
    await f.knex('agreements').insert({
      debtor_id: debtorId,
      portfolio_id: portfolioId,
      kind: 'contado',
      total: 98765,
      installments: 1,
      installment_amount: 98765,
      first_due_date: '2026-12-01',
      channel: 'api',
      reference: 'AC-AGENTE1',
      status: 'vigente',
      status_changed_at: at,
      created_at: at,
    });
    const r = await chat.send('sí, confirmo');
    assert.equal(r.state, 'acuerdo_vigente');
    assert.ok(r.replies.some((x) => x.text.includes('AC-AGENTE1')), 'the agreement on record is stated');
    assert.equal((await f.knex('agreements').where({ debtor_id: debtorId, status: 'vigente' })).length, 1);
  });

  it('opens exactly one conversation when a new person’s first messages race', async () => {
    const user = `race-${Date.now()}`;
    const results = await Promise.all(
      ['hola', 'buenas', 'hay alguien?', 'hola?'].map((text, i) => f.engine.handle({ channel: 'api', from: user, messageId: `r-${i}`, text, at: new Date() })),
    );
    assert.equal(new Set(results.map((r) => r.conversationId)).size, 1);
    const rows = await messagesOf(f.knex, results[0]?.conversationId as string);
    assert.equal(rows.filter((m) => m.direction === 'out' && /^¡Hola!/.test(m.text ?? '')).length, 1, 'one greeting');
  });

  it('answers a photo or an empty message politely and keeps the state', async () => {
    const chat = new Chat(f.engine);
    await chat.send('hola');
    const photo = await chat.send('', { media: { kind: 'image' } });
    assert.equal(photo.state, 'inicial');
    assert.match(photo.replies[0]?.text ?? '', /solo puedo leer mensajes de texto/);
    const empty = await chat.send('   ');
    assert.equal(empty.state, 'inicial');
    assert.match(empty.replies[0]?.text ?? '', /vacío/);
    const sticker = await new Chat(f.engine).send('', { media: { kind: 'sticker' } });
    assert.equal(sticker.state, 'inicial', 'a first message that is media gets the greeting');
    assert.match(sticker.replies[0]?.text ?? '', /Hola/);
    const rows = await messagesOf(f.knex, photo.conversationId);
    assert.equal(rows.find((m) => m.direction === 'in' && m.text === '')?.next_state, 'inicial');
  });

  it('keeps quiet while a person has the conversation, still records what the debtor writes, and still honours an opt-out', async () => {
    const chat = new Chat(f.engine);
    await chat.send('hola');
    const handoff = await chat.send('quiero hablar con un asesor');
    assert.equal(handoff.status, 'handoff');
    const conv = await f.knex('conversations').where({ id: handoff.conversationId }).first();
    assert.equal(conv.handoff_reason, 'solicitar_asesor');
    assert.ok(conv.handoff_at);
    // Never silence: a short acknowledgement, then nothing more for a few minutes (the person answers).
    const ack = await chat.send('hola? sigue ahí?');
    assert.match(ack.replies[0]?.text ?? '', /Recibimos su mensaje/);
    assert.equal(ack.status, 'handoff');
    const quiet = await chat.send('aló');
    assert.deepEqual(quiet.replies, []);
    assert.equal(quiet.status, 'handoff');
    const stored = await f.knex('messages').where({ conversation_id: handoff.conversationId, text: 'hola? sigue ahí?' }).first();
    assert.ok(stored, 'the agent will see it');
    const optOut = await chat.send('no me escriban más');
    assert.equal(optOut.status, 'closed');
    assert.match(optOut.replies[0]?.text ?? '', /No le volveremos a escribir/);
    assert.ok(await f.knex('opt_outs').where({ conversation_id: handoff.conversationId, kind: 'no_contactar' }).first());
  });

  it('starts a fresh conversation after a close, and keeps the old one', async () => {
    const chat = new Chat(f.engine);
    await chat.send('hola');
    const bye = await chat.send('chao gracias');
    assert.equal(bye.status, 'closed');
    const again = await chat.send('hola de nuevo');
    assert.notEqual(again.conversationId, bye.conversationId);
    assert.equal(again.state, 'inicial');
    const old = await f.knex('conversations').where({ id: bye.conversationId }).first();
    assert.equal(old.status, 'closed');
    assert.equal(old.close_reason, 'finalizar_conversacion');
    assert.ok((await messagesOf(f.knex, bye.conversationId)).length > 0);
  });

  it('reset closes the live conversation', async () => {
    const chat = new Chat(f.engine);
    const first = await chat.send('hola');
    assert.deepEqual(await f.engine.reset('api', chat.from), { conversationId: first.conversationId });
    assert.deepEqual(await f.engine.reset('api', chat.from), { conversationId: null });
    const next = await chat.send('hola');
    assert.notEqual(next.conversationId, first.conversationId);
  });

  it('sees changes other writers made to the conversation (an agent handing it back, the scheduler closing it)', async () => {
    const chat = new Chat(f.engine);
    await chat.send('hola');
    const handoff = await chat.send('quiero hablar con un asesor');
    assert.equal(handoff.status, 'handoff');
    // An agent gives the conversation back to the bot, outside the engine.
    await f.knex('conversations').where({ id: handoff.conversationId }).update({ status: 'open', state: 'inicial' });
    const asked = await chat.send('93388915');
    assert.equal(asked.conversationId, handoff.conversationId);
    assert.equal(asked.state, 'verificar_identidad', 'the bot answers again, from the state the agent left');
    const back = await chat.send(CARLOS_DIGITS);
    assert.equal(back.state, 'informar_deuda');
    // The scheduler closes it for inactivity.
    await f.knex('conversations').where({ id: back.conversationId }).update({ status: 'closed', close_reason: 'timeout' });
    const fresh = await chat.send('hola');
    assert.notEqual(fresh.conversationId, back.conversationId);
    assert.equal(fresh.state, 'inicial');
    const old = await f.knex('conversations').where({ id: back.conversationId }).first();
    assert.equal(old.close_reason, 'timeout', 'the closed conversation was not written over');
    assert.equal(old.message_count, 4);
  });

  it('rolls the whole turn back when a write fails: no half-saved turn, and the next try works', async () => {
    await f.knex.raw(`create function fail_on_boom() returns trigger language plpgsql as $$
      begin if new.text = 'boom' then raise exception 'simulated failure'; end if; return new; end $$`);
    await f.knex.raw(`create trigger boom before insert on messages for each row execute function fail_on_boom()`);
    try {
      const chat = new Chat(f.engine);
      const start = await chat.send('hola');
      await assert.rejects(chat.send('boom', { messageId: 'boom-1' }), { name: 'TurnError' });
      const conv = await f.knex('conversations').where({ id: start.conversationId }).first();
      assert.equal(conv.message_count, 1, 'the failed turn left no trace');
      assert.equal(await f.knex('messages').where({ external_id: 'boom-1' }).first(), undefined);
      const count = (q: { count: (c: string) => Promise<unknown> }) => q.count('* as n').then((r) => Number((r as { n: string }[])[0]?.n));
      assert.equal(await count(f.knex('messages').where({ conversation_id: start.conversationId })), 1 + start.replies.length, 'only the first turn is stored');
      const retry = await chat.send('93388915', { messageId: 'boom-1' });
      assert.equal(retry.duplicate, false, 'a failed delivery can be retried with the same id');
      assert.equal(retry.state, 'verificar_identidad');
      assert.equal((await chat.send(CARLOS_DIGITS)).state, 'informar_deuda');
    } finally {
      await f.knex.raw('drop trigger boom on messages');
      await f.knex.raw('drop function fail_on_boom()');
    }
  });

  it('hands the conversation to a person past the message limit (the per-tier limits)', async () => {
    const engine = f.makeEngine({ messageLimit: (tier) => (tier === 'default' ? 3 : undefined) });
    const chat = new Chat(engine);
    await chat.send('hola');
    await chat.send('hmm');
    await chat.send('no sé');
    const fourth = await chat.send('otra vez');
    assert.equal(fourth.status, 'handoff');
    const conv = await f.knex('conversations').where({ id: fourth.conversationId }).first();
    assert.equal(conv.handoff_reason, 'message_limit');
  });

  it('renders the flow’s timeout warning for the scheduler, naming the debtor only once identified', () => {
    const identified = f.engine.timeoutWarning({ flow: 'negociacion', context: { identificado: true, nombre: 'Carlos' } }, 2);
    assert.deepEqual(identified.map((r) => r.text), [
      'Carlos, ¿seguimos? 🙂 Si no recibimos respuesta, esta conversación se cerrará en 2 horas. Puede retomarla cuando quiera.',
    ]);
    const anonymous = f.engine.timeoutWarning({ flow: 'negociacion', context: {} }, 2);
    assert.match(anonymous[0]?.text ?? '', /^¿Seguimos\?/);
  });

  it('caps the steps of one turn', async () => {
    const states = Array.from({ length: 8 }, (_, i) => `  s${i}:\n    say: "paso ${i}"\n    next: s${i + 1}\n`).join('');
    const flow = parseFlow(
      `flow: largo\nstart: s0\nfallback:\n  goto: fin\nstates:\n${states}  s8:\n    say: "fin del camino"\n    next: fin\n  fin:\n    end: true\n`,
      'largo.yaml',
    );
    const engine = createEngine({ knex: f.knex, clock: f.clock, understander: f.understander, flows: flow, log: quietLog, maxStepsPerTurn: 4 });
    const r = await new Chat(engine).send('hola');
    assert.equal(r.state, 's3', 'four steps, then the turn stops');
    assert.deepEqual(
      r.replies.map((x) => x.text),
      ['paso 0', 'paso 1', 'paso 2', 'paso 3'],
    );
    assert.equal(r.status, 'open');
  });

  it('queues replies for a channel with an adapter and sends them after commit; the API channel answers inline', async () => {
    const sent: { to: string; replies: Reply[] }[] = [];
    const telegram: OutboundChannel = {
      name: 'telegram',
      async send(to, replies) {
        sent.push({ to, replies });
        return { externalId: `tg-${sent.length}` };
      },
    };
    f.outbox.registerChannel(telegram);
    const r = await f.engine.handle({ channel: 'telegram', from: 'chat-42', messageId: 'u-1', text: 'hola', at: new Date() });
    await f.outbox.idle();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.to, 'chat-42');
    assert.deepEqual(sent[0]?.replies, r.replies);
    const row = await f.knex('outbox').where({ conversation_id: r.conversationId }).first();
    assert.equal(row.status, 'sent');
    assert.equal(row.external_id, 'tg-1');

    const api = await new Chat(f.engine).send('hola');
    assert.equal(await f.knex('outbox').where({ conversation_id: api.conversationId }).first(), undefined, 'delivered in the HTTP response: nothing queued');
    const stored = await f.knex('messages').where({ conversation_id: api.conversationId, direction: 'out' }).orderBy('id').pluck('text');
    assert.deepEqual(stored, api.replies.map((r) => r.text), 'the replies are recorded as the conversation’s messages');
  });
});
