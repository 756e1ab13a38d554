import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { createPolicySet, BUILTIN_POLICY } from '../../src/flows/policies.js';
import { answerDigits, judgeAnswer, normalizeMobile, warnUnverifiedPortfolios } from '../../src/engine/identity.js';
import { detectThirdParty } from '../../src/nlu/third-party.js';
import { CARLOS, CARLOS_DIGITS, Chat, engineFixture, insertDebtor, insertPortfolio, type EngineFixture } from './support/harness.js';

/** Debtor values that must never reach a person before they prove who they are. */
const DEBTOR_KEYS = ['identificado', 'nombre', 'Nombre_del_cliente', 'banco', 'saldo_total', 'oferta_1', 'cedula', 'planes', 'oferta_contado', 'carteras'];

function assertNothingDisclosed(chat: Chat): void {
  const text = chat.text + '\n' + (chat.last?.replies ?? []).flatMap((r) => r.buttons ?? []).map((b) => b.text).join('\n');
  for (const leak of ['Carlos', 'CARLOS', 'FAJARDO', 'TUYA', '$', '123.456', '98.765']) assert.ok(!text.includes(leak), `"${leak}" leaked in: ${text}`);
  for (const k of DEBTOR_KEYS) assert.equal(chat.last?.context[k], undefined, `context.${k} leaked`);
}

describe('identity before any debt detail (Ley 2300 art. 4)', function () {
  this.timeout(60_000);
  let f: EngineFixture;
  let carlosId: number;

  beforeEach(async () => {
    f = await engineFixture();
    const portfolio = await insertPortfolio(f.knex, 'Tuya');
    carlosId = await insertDebtor(f.knex, portfolio, CARLOS);
  });
  afterEach(async () => {
    await f.outbox.stop();
    await f.db.drop();
  });

  const chat = (from?: string, channel: 'api' | 'telegram' | 'whatsapp-cloud' | 'webchat' = 'api') => new Chat(f.engine, from, channel, f.clock);

  it('discloses nothing on the cédula alone, not even the name, in the replies or the API context', async () => {
    const c = chat();
    await c.send('hola, mi cédula es 93388915');
    assert.equal(c.state, 'verificar_identidad');
    assertNothingDisclosed(c);
    assert.match(c.text, /últimos 4 dígitos/);
    // Pressing a button that only exists after disclosure does nothing either.
    await c.press('ver_opciones');
    assertNothingDisclosed(c);
    const conv = await f.knex('conversations').first('debtor_id', 'context');
    assert.equal(conv.debtor_id, null, 'no debtor is bound before verification');
    await c.send(CARLOS_DIGITS);
    assert.equal(c.state, 'informar_deuda');
    assert.match(c.text, /Carlos/);
    assert.equal(c.last?.context.identificado, true);
    assert.equal((await f.knex('conversations').first('debtor_id')).debtor_id, carlosId);
  });

  it('records every attempt with who, channel and outcome, never the answer', async () => {
    const c = chat('persona-1');
    await c.identify('93388915', '9876');
    await c.send(CARLOS_DIGITS);
    const rows = await f.knex('identity_attempts').orderBy('id').select();
    assert.deepEqual(
      rows.map((r) => [r.channel, r.user_id, r.debtor_id, r.method, r.outcome]),
      [
        ['api', 'persona-1', carlosId, 'telefono', 'fallido'],
        ['api', 'persona-1', carlosId, 'telefono', 'verificado'],
      ],
    );
    assert.ok(!JSON.stringify(rows).includes('9876'), 'the answer is never stored in the attempts');
    assert.equal(rows[0].created_at.toISOString(), f.clock.now().toISOString(), 'stamped by the injected clock');
  });

  it('locks after 3 failures per debtor across channel users and conversations, for 24 hours of the injected clock', async () => {
    await chat('a').identify('93388915', '0000');
    await chat('b').identify('93388915', '1111');
    const third = chat('c');
    await third.identify('93388915', '2222');
    assert.equal(third.state, 'identidad_bloqueada');
    assert.equal(third.last?.status, 'handoff');
    assertNothingDisclosed(third);
    assert.equal((await f.knex('conversations').where({ user_id: 'c' }).first('handoff_reason')).handoff_reason, 'verificacion_fallida');

    // A fourth person with the right answer is not even asked: the debtor is locked.
    const fourth = chat('d');
    await fourth.send('93388915');
    assert.equal(fourth.state, 'identidad_bloqueada');
    assertNothingDisclosed(fourth);

    // 24 hours later (the service's clock, not the machine's), the question comes back.
    f.clock.advance(24 * 60 * 60 * 1000 + 60_000);
    const later = chat('e');
    await later.identify('93388915', CARLOS_DIGITS);
    assert.equal(later.state, 'informar_deuda');
  });

  it('locks a channel user who tries 3 debtors, and a success resets the count', async () => {
    const portfolio = await insertPortfolio(f.knex, 'Otra');
    await insertDebtor(f.knex, portfolio, { cedula: '52876123', nombre: 'LUZ MARINA', phone: '573154567890' });
    await insertDebtor(f.knex, portfolio, { cedula: '1023456789', nombre: 'MARÍA', phone: '573109876543' });
    const c = chat('probador');
    await c.identify('52876123', '0000');
    await c.send('adiós');
    await c.identify('1023456789', '0000');
    await c.send('adiós');
    await c.identify('93388915', CARLOS_DIGITS);
    assert.equal(c.state, 'informar_deuda', 'two failures and a success: verified, count reset');
    await c.send('adiós');
    await c.identify('52876123', '1111');
    await c.send('adiós');
    await c.identify('1023456789', '1111');
    await c.send('adiós');
    await c.identify('52876123', '2222');
    assert.equal(c.state, 'identidad_bloqueada');
  });

  it('never discloses to someone who said they write for the debtor, whatever they know', async () => {
    const c = chat();
    await c.send('buenas, soy la esposa de Carlos, cuánto debe?');
    assert.equal(c.state, 'esperar_titular');
    assert.match(c.text, /titular/);
    await c.send('93388915');
    assertNothingDisclosed(c);
    await c.send(CARLOS_DIGITS);
    assertNothingDisclosed(c);
    await c.send('quiero pagar');
    assertNothingDisclosed(c);
    const contacts = await f.knex('third_party_contacts').orderBy('id').select('debtor_id', 'relation', 'channel');
    assert.deepEqual(contacts, [
      { debtor_id: null, relation: 'esposa', channel: 'api' },
      { debtor_id: carlosId, relation: 'esposa', channel: 'api' },
    ]);
    assert.equal(await f.knex('agreements').count('* as n').first().then((r) => Number(r?.n)), 0);
  });

  it('takes back what was shown when a verified person says they are someone else', async () => {
    const c = chat();
    await c.identify('93388915', CARLOS_DIGITS);
    assert.equal(c.state, 'informar_deuda');
    await c.send('ah no, yo le escribo por mi papá');
    assert.equal(c.state, 'esperar_titular');
    for (const k of DEBTOR_KEYS) assert.equal(c.last?.context[k], undefined, `context.${k} still there`);
    await c.press('ver_opciones');
    assertNothingDisclosed(c);
  });

  it('skips the question for WhatsApp from the mobile on file and asks a different number', async () => {
    const mine = chat('573001234567', 'whatsapp-cloud');
    await mine.send('93388915', { verifiedPhone: '+57 300 123 4567' });
    assert.equal(mine.state, 'informar_deuda');
    const other = chat('573009998877', 'whatsapp-cloud');
    await other.send('93388915', { verifiedPhone: '573009998877' });
    assert.equal(other.state, 'verificar_identidad');
    assertNothingDisclosed(other);
  });

  it('ignores a phone claimed on channels that cannot prove it (REST API, web widget)', async () => {
    for (const channel of ['api', 'webchat'] as const) {
      const c = chat(undefined, channel);
      await c.send('93388915', { verifiedPhone: '573001234567', contact: { phone: '573001234567', userId: c.from } });
      assert.equal(c.state, 'verificar_identidad', channel);
      assertNothingDisclosed(c);
    }
  });

  it('counts a Telegram contact only when it is the sender’s own, and remembers it for later conversations', async () => {
    const c = chat('5281907331', 'telegram');
    await c.send('93388915');
    assert.equal(c.last?.replies.at(-1)?.requestContact, '📱 Compartir mi número');
    // Someone else's card with the right number: not a proof.
    await c.send('', { contact: { phone: '+573001234567', userId: '999' } });
    assert.equal(c.state, 'esperar_identidad');
    assertNothingDisclosed(c);
    await c.send('', { contact: { phone: '+573001234567', userId: '5281907331' } });
    assert.equal(c.state, 'informar_deuda');
    await c.send('chao');
    // A new conversation: the platform already proved this user's number.
    await c.send('hola');
    await c.send('93388915');
    assert.equal(c.state, 'informar_deuda');
  });

  it('keeps a verified conversation verified and verifies a new one again', async () => {
    const c = chat();
    await c.identify('93388915', CARLOS_DIGITS);
    await c.press('ver_opciones');
    assert.match(c.text, /\$/);
    await c.send('chao');
    assert.equal(c.last?.status, 'closed');
    await c.send('93388915');
    assert.equal(c.state, 'verificar_identidad');
    assertNothingDisclosed(c);
  });

  it('asks the fact the portfolio’s policy names, falling back to one the file holds', async () => {
    const fecha = await insertPortfolio(f.knex, 'Por Fecha', { verification: 'fecha_expedicion' });
    await insertDebtor(f.knex, fecha, { cedula: '43111222', nombre: 'SANDRA', phone: '573205556677', fechaExpedicion: '1998-07-20' });
    await insertDebtor(f.knex, fecha, { cedula: '43111333', nombre: 'SIN FECHA', phone: '573205550000' });
    const s = chat();
    await s.send('43111222');
    assert.match(s.text, /fecha de expedición/);
    await s.send('20 de julio de 1998');
    assert.equal(s.state, 'informar_deuda');
    const t = chat();
    await t.send('43111333');
    assert.match(t.text, /celular/, 'no issue date on file: the mobile is asked instead');
  });
});

describe('identity helpers', () => {
  it('normalizes Colombian mobiles from channels and files', () => {
    for (const raw of ['3001234567', '+57 300 123 4567', '573001234567', '(57) 300-123-4567', '573001234567@c.us', '0057 3001234567']) {
      assert.equal(normalizeMobile(raw), '3001234567', raw);
    }
    assert.equal(normalizeMobile('12345'), undefined);
  });

  it('reads one answer per attempt: a list of guesses is never right', () => {
    const carlos = { phone: '573001234567', fechaExpedicion: '2005-03-15', numeroObligacion: 'TC-0009-4321' };
    const judge = (method: 'telefono' | 'fecha_expedicion' | 'obligacion', text: string) => judgeAnswer(method, carlos, text, '2026-11-23');
    assert.equal(judge('telefono', '4567'), 'ok');
    assert.equal(judge('telefono', 'los ultimos son 45 67'), 'ok');
    assert.equal(judge('telefono', 'termina en 4567, lo tengo hace 3 años'), 'ok');
    assert.equal(judge('telefono', '300 123 4567'), 'ok');
    assert.equal(judge('telefono', '1111 o 4567'), 'wrong', 'two guesses in one message');
    assert.equal(judge('telefono', '45'), 'unreadable');
    assert.equal(judge('obligacion', '4321'), 'ok');
    assert.equal(judge('fecha_expedicion', '15 de marzo de 2005'), 'ok');
    assert.equal(judge('fecha_expedicion', '14/03/2005 o 15/03/2005'), 'wrong');
    assert.equal(judge('fecha_expedicion', 'no me acuerdo'), 'unreadable');
    assert.deepEqual(answerDigits('1111, 2222 y 3333'), ['1111', '2222', '3333']);
  });

  it('detects third parties in many wordings, and not debtors talking about their family', () => {
    const third = [
      'soy la mamá de Juan',
      'Soy el esposo de la señora',
      'le escribo por mi hijo',
      'el que debe es mi papa',
      'mi mamá tiene una deuda con ustedes',
      'cuanto debe mi hermana',
      'la deuda es de mi esposo',
      'escribo de parte de mi suegra',
      'no soy el titular',
      'mi esposa me pidió que les escribiera',
    ];
    for (const t of third) assert.ok(detectThirdParty(t), t);
    const debtor = ['mi hijo se enfermó y no pude pagar', 'soy madre cabeza de hogar', 'de parte de quién?', 'mi esposo tiene la plata', 'soy el titular', 'hola'];
    for (const t of debtor) assert.equal(detectThirdParty(t), undefined, t);
  });

  it('warns at startup about every portfolio with verification: ninguna', async () => {
    const f = await engineFixture();
    try {
      await insertPortfolio(f.knex, 'Confiada', { verification: 'ninguna' });
      await insertPortfolio(f.knex, 'Normal');
      const lines: string[] = [];
      const sink = { write: (l: string) => lines.push(l) > 0 } as unknown as NodeJS.WritableStream;
      const log = createLogger({ level: 'warn', pretty: false, destination: sink });
      const policies = createPolicySet(BUILTIN_POLICY, new Map([['Archivo Libre', { verification: 'ninguna' as const }]]));
      const names = await warnUnverifiedPortfolios(f.knex, policies, log);
      assert.deepEqual(names.sort(), ['Archivo Libre', 'Confiada']);
      assert.ok(lines.some((l) => l.includes('Confiada') && l.includes('ninguna')));
    } finally {
      await f.outbox.stop();
      await f.db.drop();
    }
  });
});
