import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import {
  agreementsOverview,
  createAgreementsService,
  newAgreementReference,
  processBrokenPromises,
  processReminders,
  queueNotice,
  recordPayment,
  reprogramAgreement,
  type AgreementsService,
} from '../../src/agreements/index.js';
import { ImportError, ManualClock } from '../../src/core/index.js';
import { BUILTIN_POLICY } from '../../src/flows/index.js';
import { createAgreementsRouter } from '../../src/http/agreements-routes.js';
import { agreementJobs, Scheduler } from '../../src/scheduler/index.js';
import { createLogger } from '../../src/log.js';
import type { Knex } from '../../src/store/db.js';
import { bog } from '../compliance/seed.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { agreementAdminRouter, insertDebtorAt, insertPortfolioAt, recordAgreement } from './support.js';

const log = createLogger({ level: 'silent', pretty: false });
const ADMIN = 'test-admin-token-0123456789';

describe('payments and broken promises', () => {
  let db: TestDatabase;
  let knex: Knex;
  let clock: ManualClock;
  let service: AgreementsService;
  let portfolioId: number;
  let server: http.Server;
  let base: string;
  const ref = newAgreementReference;
  const deps = { policyFor: () => BUILTIN_POLICY, templateLanguage: 'es_CO' };

  before(async () => {
    db = await freshDatabase();
    knex = db.knex;
    clock = new ManualClock(bog('2026-12-01T10:00'));
    portfolioId = await insertPortfolioAt(knex, 'Cartera Prueba', clock.now());
    service = createAgreementsService({ knex, clock, log, agency: 'Cobranzas Andinas S.A.S.', publicUrl: 'https://bot.example.com', templateLanguage: 'es_CO' });
    const app = express();
    app.use(createAgreementsRouter({ service }));
    app.use('/api/v1/admin', agreementAdminRouter(knex, clock, ADMIN));
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.close();
    await db?.drop();
  });

  async function agreement(total: number, installments: number, firstDueDate: string) {
    const d = await insertDebtorAt(knex, portfolioId, clock.now());
    const reference = ref();
    const id = await recordAgreement(knex, { debtorId: d.id, portfolioId, reference, total, installments, firstDueDate, at: clock.now() });
    return { id, reference, cedula: d.cedula, debtorId: d.id };
  }
  const installments = async (id: number) =>
    (await knex('agreement_installments').where({ agreement_id: id }).orderBy('number').select('number', 'amount', 'paid_amount', 'status')) as {
      number: number;
      amount: number;
      paid_amount: number;
      status: string;
    }[];

  it('a partial payment leaves the installment parcial; an overpayment carries to the next; beyond the last it stays unapplied', async () => {
    const a = await agreement(300_000, 3, '2026-12-10');
    const pay = (amount: number, key: string) =>
      knex.transaction((trx) => recordPayment(trx, { source: 'bank_file', idempotencyKey: key, cedula: a.cedula, amount, paidOn: '2026-12-01' }, clock.now()));
    const partial = await pay(40_000, `${a.reference}-p1`);
    assert.equal(partial.status, 'applied');
    assert.deepEqual((await installments(a.id)).map((i) => [i.paid_amount, i.status]), [[40_000, 'parcial'], [0, 'pendiente'], [0, 'pendiente']]);
    const over = await pay(130_000, `${a.reference}-p2`);
    assert.ok(over.status === 'applied');
    assert.deepEqual(over.allocations.map((x) => [x.number, x.amount]), [[1, 60_000], [2, 70_000]]);
    assert.deepEqual((await installments(a.id)).map((i) => [i.paid_amount, i.status]), [[100_000, 'pagada'], [70_000, 'parcial'], [0, 'pendiente']]);
    const beyond = await pay(200_000, `${a.reference}-p3`);
    assert.ok(beyond.status === 'applied');
    assert.deepEqual([beyond.unapplied, beyond.completed, beyond.paidInstallments], [70_000, true, [2, 3]]);
    assert.ok(beyond.certificateCode?.startsWith('PYS-'));
    assert.equal((await knex('agreements').where({ id: a.id }).first('status')).status, 'cumplido');
    assert.equal((await knex('payments').where({ idempotency_key: `${a.reference}-p3` }).first('unapplied')).unapplied, 70_000);
    const total = (await installments(a.id)).reduce((s, i) => s + i.paid_amount, 0);
    assert.equal(total, 300_000, 'to the peso');
  });

  it('keeps a payment with no agreement as unmatched and lists it in the admin API', async () => {
    const file = path.join(os.tmpdir(), `sin-acuerdo-${process.pid}.csv`);
    fs.writeFileSync(file, 'Cedula,Valor,Fecha,Medio\n1098765432,"$250.000",02/12/2026,Efecty\n');
    const result = await service.importFile(file, {});
    assert.deepEqual([result.applied, result.unmatched], [0, 1]);
    const res = await fetch(`${base}/api/v1/admin/payments/unmatched`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { total: number; items: { cedula: string; amount: number; paid_on: string; method: string; line: number }[] };
    assert.equal(body.total, 1);
    assert.deepEqual(
      body.items.map((p) => [p.cedula, p.amount, p.paid_on, p.method, p.line]),
      [['1098765432', 250_000, '2026-12-02', 'Efecty', 2]],
    );
    assert.equal((await fetch(`${base}/api/v1/admin/payments/unmatched`)).status, 401);
  });

  it('imports all or nothing with line-numbered errors; --skip-invalid imports the valid rows', async () => {
    const a = await agreement(90_000, 3, '2026-12-15');
    const file = path.join(os.tmpdir(), `pagos-malos-${process.pid}.csv`);
    fs.writeFileSync(file, `Referencia;Valor;Fecha\n${a.reference};30.000;15/12/2026\n${a.reference};treinta mil;15/12/2026\n${a.reference};30000;2026-13-01\n`);
    await assert.rejects(service.importFile(file, {}), (err: unknown) => {
      assert.ok(err instanceof ImportError);
      assert.deepEqual(err.problems.map((p) => p.line), [3, 4]);
      return true;
    });
    assert.equal(await knex('payments').where({ reference: a.reference }).first(), undefined, 'nothing was written');
    const skipped = await service.importFile(file, { skipInvalid: true });
    assert.deepEqual([skipped.applied, skipped.rejected.length], [1, 2]);
    assert.deepEqual((await installments(a.id)).map((i) => i.status), ['pagada', 'pendiente', 'pendiente']);
  });

  it('a missed installment: follow-up after D days, then reprogrammed within policy (old reference kept in history)', async () => {
    clock.set(bog('2026-12-01T10:00'));
    const a = await agreement(120_000, 2, '2026-12-02');
    clock.set(bog('2026-12-04T10:00'));
    let summary = await processBrokenPromises(knex, clock.now(), deps);
    assert.equal(summary.followUps, 0, 'not before D = 3 days');
    clock.set(bog('2026-12-05T10:00'));
    summary = await processBrokenPromises(knex, clock.now(), deps);
    assert.equal(summary.followUps, 1);
    assert.equal((await processBrokenPromises(knex, clock.now(), deps)).followUps, 0, 'once');
    const notice = await knex('agreement_notices').where({ agreement_id: a.id, kind: 'seguimiento' }).first();
    const row = await knex('outbox').where({ id: notice.outbox_id }).first();
    assert.equal(row.kind, 'reminder');
    assert.match(row.payload[0].text, /¿Sucedió algo con el pago\?.*reprogramar/s);
    assert.doesNotMatch(row.payload[0].text, /por qu[eé]/i);
    assert.equal((await installments(a.id))[0]?.status, 'vencida');

    // Out of policy: nothing changes.
    const tooLong = await reprogramAgreement(knex, a.id, { installments: 48, firstDueDate: '2026-12-15' }, { now: clock.now(), policy: BUILTIN_POLICY, newReference: ref });
    assert.equal(tooLong.status, 'out_of_policy');
    assert.equal((await knex('agreements').where({ id: a.id }).first()).status, 'vigente');
    const result = await reprogramAgreement(knex, a.id, { installments: 3, firstDueDate: '2026-12-15' }, { now: clock.now(), policy: BUILTIN_POLICY, newReference: ref });
    assert.ok(result.status === 'ok');
    const old = await knex('agreements').where({ id: a.id }).first();
    assert.deepEqual([old.status, old.replaced_by], ['reemplazado', result.agreementId]);
    const fresh = await knex('agreements').where({ id: result.agreementId }).first();
    assert.deepEqual([fresh.status, fresh.total, fresh.installments], ['vigente', 120_000, 3]);
    assert.equal((await installments(result.agreementId)).reduce((s, i) => s + i.amount, 0), 120_000);
    // The follow-up still waiting (if any) is cancelled with the old schedule.
    assert.notEqual((await knex('agreement_notices').where({ id: notice.id }).first()).status, 'queued');
  });

  it('reminds through the guard: an approved template on WhatsApp Cloud, one contact a day, nothing on a revoked channel', async () => {
    clock.set(bog('2026-12-01T10:00'));
    const d = await insertDebtorAt(knex, portfolioId, clock.now());
    const wa = await recordAgreement(knex, { debtorId: d.id, portfolioId, reference: ref(), total: 60_000, installments: 2, firstDueDate: '2026-12-07', channel: 'whatsapp-cloud', userId: '573001112233', at: clock.now() });
    const other = await insertDebtorAt(knex, portfolioId, clock.now());
    const revoked = await recordAgreement(knex, { debtorId: other.id, portfolioId, reference: ref(), total: 60_000, installments: 2, firstDueDate: '2026-12-07', channel: 'telegram', userId: 'tg-revoked', at: clock.now() });
    await knex('opt_outs').insert({ debtor_id: other.id, channel: 'telegram', user_id: 'tg-revoked', kind: 'no_contactar', status: 'done', created_at: clock.now() });
    // Thursday 3 December, 3 days before Monday 7th… the reminder.
    clock.set(bog('2026-12-04T09:00'));
    await processReminders(knex, clock.now(), deps);
    const notice = await knex('agreement_notices').where({ agreement_id: wa, kind: 'recordatorio_previo' }).first();
    const row = await knex('outbox').where({ id: notice.outbox_id }).first();
    assert.deepEqual([row.kind, row.channel, row.recipient], ['reminder', 'whatsapp-cloud', '573001112233']);
    assert.equal(row.payload[0].template.name, 'acuerdo_recordatorio');
    assert.deepEqual(row.payload[0].template.bodyParameters, ['Ana', 'la cuota 1 de 2', '$30.000', 'lunes 7 de diciembre de 2026', (await knex('agreements').where({ id: wa }).first()).reference]);
    assert.equal((await knex('agreement_notices').where({ agreement_id: revoked }).first()).status, 'blocked');
    // A second unprompted message the same day waits for the next allowed day (one contact a day).
    clock.set(bog('2026-12-04T11:00'));
    const second = await knex.transaction((trx) =>
      queueNotice(trx, { agreementId: wa, installmentId: null, kind: 'paz_y_salvo', now: clock.now(), templateLanguage: 'es_CO', facts: { name: 'ANA', reference: 'AC-X', link: 'https://x', code: 'PYS-AAAA-AAAA' } }),
    );
    assert.equal(second.status, 'deferred');
    // The paz y salvo template carries the PDF as its DOCUMENT header.
    const pys = await knex('outbox').where({ id: second.status === 'deferred' ? second.outboxId : 0 }).first();
    assert.deepEqual(pys.payload[0].template.components, [{ type: 'header', parameters: [{ type: 'document', document: { link: 'https://x', filename: 'paz-y-salvo-PYS-AAAA-AAAA.pdf' } }] }]);
    assert.equal(pys.payload[0].template.name, 'acuerdo_paz_y_salvo');
  });

  it('a failed reprogramming declares the agreement incumplido when asked to', async () => {
    clock.set(bog('2026-12-01T10:00'));
    const a = await agreement(80_000, 2, '2026-12-02');
    clock.set(bog('2026-12-07T10:00'));
    const failed = await reprogramAgreement(knex, a.id, { installments: 2, firstDueDate: '2027-06-01' }, { now: clock.now(), policy: BUILTIN_POLICY, newReference: ref, breakOnFailure: true });
    assert.equal(failed.status, 'out_of_policy');
    assert.equal((await knex('agreements').where({ id: a.id }).first()).status, 'incumplido');
    const event = await knex('conversation_events').where({ kind: 'acuerdo_incumplido', status: 'open' }).whereRaw(`(details->>'agreement_id')::bigint = ?`, [a.id]).first();
    assert.equal(event.details.reason, 'reprogramacion_fallida');
  });

  it('runs as scheduled jobs with the scheduler’s advisory locks and run records', async () => {
    const scheduler = new Scheduler({ knex, log, clock, instance: 'test', jobs: agreementJobs(deps) });
    assert.deepEqual(scheduler.jobNames(), ['agreement-status', 'agreement-reminders', 'broken-promises']);
    for (const name of scheduler.jobNames()) {
      const outcome = await scheduler.runNow(name);
      assert.equal(outcome.status, 'ok', JSON.stringify(outcome));
    }
    const runs = await knex('scheduler_runs').whereIn('job', scheduler.jobNames()).select('job', 'status', 'result');
    assert.equal(runs.length, 3);
    assert.ok(runs.every((r: { status: string }) => r.status === 'ok'));
  });

  it('a missed installment unpaid after E days: incumplido, in the supervisors’ queue', async () => {
    clock.set(bog('2026-12-01T10:00'));
    const a = await agreement(50_000, 1, '2026-12-02');
    clock.set(bog('2026-12-17T10:00'));
    const summary = await processBrokenPromises(knex, clock.now(), deps);
    assert.equal(summary.broken, 1);
    assert.equal((await knex('agreements').where({ id: a.id }).first()).status, 'incumplido');
    const overview = (await agreementsOverview(knex, clock.now())) as { broken_queue: { reference: string }[]; promise_keeping: { due: number; on_time: number }; recovered: { portfolio: string; month: string; amount: number }[] };
    assert.ok(overview.broken_queue.some((q) => q.reference === a.reference));
    assert.ok(overview.promise_keeping.due >= 1);
    assert.ok(overview.recovered.some((r) => r.month === '2026-12' && r.amount > 0));
    const res = await fetch(`${base}/api/v1/admin/agreements-overview`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(res.status, 200);
  });
});
