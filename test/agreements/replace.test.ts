import assert from 'node:assert/strict';
import { createAgreementsService, type AgreementsService } from '../../src/agreements/index.js';
import { CARLOS, Chat, engineFixture, insertDebtor, insertPortfolio, quietLog, type EngineFixture } from '../engine/support/harness.js';
import { bog } from '../compliance/seed.js';

describe('an agreement replaced in the chat after a payment', function () {
  this.timeout(60_000);
  let f: EngineFixture;
  let service: AgreementsService;

  before(async () => {
    f = await engineFixture();
    f.clock.time = bog('2026-11-23T10:00');
    service = createAgreementsService({ knex: f.knex, clock: f.clock, log: quietLog, agency: 'Cobranzas Andinas S.A.S.', publicUrl: 'https://bot.example.com', templateLanguage: 'es_CO' });
  });
  after(async () => {
    await f?.db.drop();
  });

  it('credits what the old agreement received to the new one: nobody pays an installment twice', async () => {
    const engine = f.makeEngine({ afterAgreement: async ({ reference, replaces }) => void (replaces !== undefined && (await service.carryOver(reference))) });
    const portfolioId = await insertPortfolio(f.knex, 'Cartera Prueba');
    const debtorId = await insertDebtor(f.knex, portfolioId, CARLOS);
    await f.knex('debtors').where({ id: debtorId }).update({ phone: '573001234567' });
    const chat = new Chat(engine, 'tg-replace', 'telegram', f.clock as never);
    for (const text of ['hola', '93388915', '4567', 'quiero pagar', '3 cuotas', 'sí']) await chat.send(text);
    const first = await f.knex('agreements').where({ debtor_id: debtorId }).first();
    await service.record({ source: 'bank_file', idempotencyKey: 'pago-1', reference: first.reference, amount: 37_037, paidOn: '2026-11-30' });

    // A week later the debtor asks to change it, in the chat.
    f.clock.time = bog('2026-12-02T10:00');
    const later = new Chat(engine, 'tg-replace', 'telegram', f.clock as never);
    for (const text of ['hola', '93388915', '4567']) await later.send(text);
    await later.send('quiero cambiar mi acuerdo');
    if (later.buttons.includes('cuotas_6')) await later.press('cuotas_6');
    else await later.send('6 cuotas');
    await later.send('sí');
    const fresh = await f.knex('agreements').where({ debtor_id: debtorId, status: 'vigente' }).first();
    assert.ok(fresh && fresh.id !== first.id, `a new agreement replaced the old one (last state ${later.state}: ${later.text})`);
    const old = await f.knex('agreements').where({ id: first.id }).first();
    assert.deepEqual([old.status, old.replaced_by], ['reemplazado', fresh.id]);
    const credit = await f.knex('payments').where({ agreement_id: fresh.id, source: 'traslado' }).first();
    assert.equal(credit.amount, 37_037);
    const paid = (await f.knex('agreement_installments').where({ agreement_id: fresh.id }).sum({ s: 'paid_amount' }).first()) as { s: number };
    assert.equal(Number(paid.s), 37_037, 'the new schedule starts with what was already paid');
    // Carried once, whatever happens again.
    await service.carryOver(fresh.reference);
    assert.equal((await f.knex('payments').where({ agreement_id: fresh.id, source: 'traslado' })).length, 1);
  });
});
