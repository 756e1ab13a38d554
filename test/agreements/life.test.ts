import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import {
  createAgreementsService,
  createLinkSigner,
  createMercadoPagoProvider,
  processReminders,
  type AgreementsService,
} from '../../src/agreements/index.js';
import { recheckBeforeSend } from '../../src/compliance/index.js';
import { createOutbox, type Outbox } from '../../src/engine/outbox.js';
import { createAgreementsRouter } from '../../src/http/agreements-routes.js';
import { CARLOS, Chat, engineFixture, insertDebtor, insertPortfolio, quietLog, shippedFlows, type EngineFixture } from '../engine/support/harness.js';
import { bog } from '../compliance/seed.js';
import { agreementAdminRouter, capturingChannel, notificationBody, paymentResource, routeMercadoPagoTo, signNotification, startFakeMercadoPago, type FakeMercadoPago } from './support.js';

const TOKEN = 'APP_USR-test-token';
const SECRET = 'mp-webhook-secret-for-tests';
const ADMIN = 'test-admin-token-0123456789';
const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');

describe('an agreement’s whole life: agreement → reminder → paid by webhook → paid by the bank’s file → cumplido → paz y salvo', function () {
  this.timeout(60_000);
  let f: EngineFixture;
  let mp: FakeMercadoPago;
  let undoFetch: () => void;
  let server: http.Server;
  let base: string;
  let outbox: Outbox;
  let service: AgreementsService;
  let engine: EngineFixture['engine'];
  const channel = capturingChannel('telegram');
  const policyFor = (name: string, override: unknown) => shippedFlows().policies.forPortfolio(name, override);

  before(async () => {
    f = await engineFixture();
    f.clock.time = bog('2026-11-23T10:00');
    mp = await startFakeMercadoPago(TOKEN);
    undoFetch = routeMercadoPagoTo(mp.url);
    const app = express();
    app.use(express.json());
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const signer = createLinkSigner({ secret: 'link-secret-0123456789-0123456789-abcdef', publicUrl: base, clock: f.clock });
    const provider = createMercadoPagoProvider({ accessToken: TOKEN, webhookSecret: SECRET, clock: f.clock });
    outbox = createOutbox({ knex: f.knex, log: quietLog, clock: f.clock, beforeSend: (row, now) => recheckBeforeSend(f.knex, row, now) });
    outbox.registerChannel(channel);
    service = createAgreementsService({ knex: f.knex, clock: f.clock, log: quietLog, signer, provider, agency: 'Cobranzas Andinas S.A.S.', publicUrl: base, templateLanguage: 'es_CO' });
    engine = f.makeEngine({ agreementLinks: { payment: (ref) => service.paymentLink(ref), certificate: (code) => service.certificateLink(code) } });
    app.use(createAgreementsRouter({ service, signer }));
    app.use('/api/v1/admin', agreementAdminRouter(f.knex, f.clock, ADMIN));
  });

  after(async () => {
    // Whatever `before` got to set up (it may have failed part-way).
    undoFetch?.();
    await outbox?.stop();
    server?.close();
    await mp?.close();
    await f?.db.drop();
  });

  const sentTexts = () => channel.sent.flatMap((s) => s.replies.map((r) => r.text));
  const notify = (paymentId: string, headers: Record<string, string>) =>
    fetch(`${base}/webhooks/mercadopago?data.id=${paymentId}&type=payment`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(notificationBody(paymentId)) });

  it('lives the whole cycle', async () => {
    // 1. The agreement, made in the chat: 3 installments, the schedule written in the same turn.
    const portfolioId = await insertPortfolio(f.knex, 'Cartera Prueba');
    const debtorId = await insertDebtor(f.knex, portfolioId, CARLOS);
    await f.knex('debtors').where({ id: debtorId }).update({ phone: '573001234567' });
    const chat = new Chat(engine, 'tg-carlos', 'telegram', f.clock as never);
    for (const text of ['hola', '93388915', '4567', 'quiero pagar', '3 cuotas', 'sí']) await chat.send(text);
    // How to pay, right after the agreement: the payment link (a gateway is configured) and the reference.
    assert.match(chat.text, /Puede pagar en línea \(PSE, tarjeta o Efecty\) aquí: http:\/\/127\.0\.0\.1:\d+\/pagar\/AC-[A-Z2-9]{6}\?exp=\d+&sig=/);
    const agreement = await f.knex('agreements').where({ debtor_id: debtorId }).first();
    assert.ok(agreement, 'the agreement is recorded');
    assert.equal(agreement.status, 'vigente');
    const schedule = await f.knex('agreement_installments').where({ agreement_id: agreement.id }).orderBy('number');
    assert.deepEqual(
      schedule.map((i: { number: number; due_date: string; amount: number }) => [i.number, i.due_date, i.amount]),
      [
        [1, '2026-11-30', 37037],
        [2, '2026-12-30', 37037],
        // 30 January 2027 is a Saturday: the next business day.
        [3, '2027-02-01', 37036],
      ],
    );
    assert.equal(schedule.reduce((s: number, i: { amount: number }) => s + i.amount, 0), agreement.total);
    const reference: string = agreement.reference;

    // 2. Three days before the first due date, the reminder goes out through the guard.
    f.clock.time = bog('2026-11-27T09:00');
    const deps = { policyFor, paymentLink: (ref: string) => service.paymentLink(ref), templateLanguage: 'es_CO' };
    assert.deepEqual(await processReminders(f.knex, f.clock.now(), deps), { queued: 1, deferred: 0, blocked: 0 });
    assert.deepEqual(await processReminders(f.knex, f.clock.now(), deps), { queued: 0, deferred: 0, blocked: 0 }, 'never twice');
    await outbox.runOnce();
    const reminder = sentTexts().find((t) => t.startsWith('Hola, Carlos. Le recordamos'));
    assert.ok(reminder, sentTexts().join('\n'));
    assert.match(reminder, new RegExp(`la cuota 1 de 3 de su acuerdo ${reference}, por \\$37\\.037, vence el lunes 30 de noviembre de 2026`));
    const link = /Puede pagar en línea \(PSE, tarjeta o Efecty\) aquí: (\S+)/.exec(reminder)?.[1];
    assert.ok(link, 'the reminder carries the payment link');

    // 3. On the due date before the window opens, the day's reminder is deferred to 07:00…
    f.clock.time = bog('2026-11-30T06:00');
    assert.deepEqual(await processReminders(f.knex, f.clock.now(), deps), { queued: 0, deferred: 1, blocked: 0 });
    const deferred = await f.knex('agreement_notices').where({ agreement_id: agreement.id, kind: 'recordatorio_vencimiento' }).first();

    // …the debtor opens the link: a Checkout Pro preference for installment 1.
    f.clock.time = bog('2026-11-30T06:20');
    const open = await fetch(link, { redirect: 'manual' });
    assert.equal(open.status, 302);
    assert.match(open.headers.get('location') ?? '', /^https:\/\/www\.mercadopago\.com\.co\/checkout\/v1\/redirect\?pref_id=/);
    const pref = mp.preferences[0] as { external_reference: string; items: { unit_price: number; currency_id: string }[]; notification_url: string };
    assert.equal(pref.external_reference, `${reference}-1`);
    assert.deepEqual([pref.items[0]?.unit_price, pref.items[0]?.currency_id], [37037, 'COP']);
    assert.equal(pref.notification_url, `${base}/webhooks/mercadopago`);
    const tampered = await fetch(link.replace(/sig=[^&]+/, 'sig=AAAA'), { redirect: 'manual' });
    assert.equal(tampered.status, 403);

    // 4. Mercado Pago notifies: a bad signature is refused and nothing is marked.
    mp.payments.set('70001', paymentResource({ id: '70001', amount: 37037, externalReference: `${reference}-1`, approved: '2026-11-30T06:25:00.000-05:00' }));
    const forged = await notify('70001', { 'x-request-id': 'req-1', 'x-signature': signNotification('not-the-secret', '70001', 'req-1', '1796023500') });
    assert.equal(forged.status, 401);
    assert.equal((await f.knex('payments')).length, 0);
    assert.deepEqual(mp.lookups, [], 'a forged notification does not even trigger a lookup');

    // The real one: looked up by id, then allocated. Delivered twice → one payment.
    const headers = { 'x-request-id': 'req-2', 'x-signature': signNotification(SECRET, '70001', 'req-2', '1796023500') };
    assert.equal((await notify('70001', headers)).status, 200);
    assert.equal((await notify('70001', headers)).status, 200);
    assert.deepEqual(mp.lookups, ['70001', '70001']);
    const payments = await f.knex('payments');
    assert.equal(payments.length, 1);
    assert.deepEqual([payments[0].source, payments[0].amount, payments[0].paid_on, payments[0].method], ['gateway', 37037, '2026-11-30', 'pse']);
    const first = await f.knex('agreement_installments').where({ agreement_id: agreement.id, number: 1 }).first();
    assert.deepEqual([first.status, first.paid_amount], ['pagada', 37037]);
    // The deferred due-date reminder is cancelled: the installment is paid.
    const cancelled = await f.knex('outbox').where({ id: deferred.outbox_id }).first();
    assert.deepEqual([cancelled.status, cancelled.last_error], ['failed', 'cancelled: cuota pagada']);

    // 5. The next link opens installment 2.
    const next = await fetch(link, { redirect: 'manual' });
    assert.equal(next.status, 302);
    assert.equal((mp.preferences[1] as { external_reference: string }).external_reference, `${reference}-2`);

    // 6. The bank's file pays the rest (installments 2 and 3 in one consignación): cumplido.
    f.clock.time = bog('2026-12-28T10:00');
    const file = path.join(os.tmpdir(), `pagos-${process.pid}.csv`);
    fs.writeFileSync(file, Buffer.from(`Referencia;Valor;Fecha;Medio\r\n${reference};$74.073;28/12/2026;Convenio Bancolombia\r\n`, 'latin1'));
    const imported = await service.importFile(file, {});
    assert.deepEqual([imported.applied, imported.unmatched, imported.duplicates, imported.completed], [1, 0, 0, [agreement.id]]);
    const again = await service.importFile(file, {});
    assert.deepEqual([again.applied, again.duplicates], [0, 1], 're-importing the same file changes nothing');
    const done = await f.knex('agreements').where({ id: agreement.id }).first();
    assert.equal(done.status, 'cumplido');
    const installments = await f.knex('agreement_installments').where({ agreement_id: agreement.id }).orderBy('number');
    assert.deepEqual(installments.map((i: { status: string }) => i.status), ['pagada', 'pagada', 'pagada']);

    // 7. The paz y salvo message with a signed, expiring link.
    await outbox.runOnce();
    const congrats = sentTexts().find((t) => t.startsWith('¡Felicitaciones, Carlos!'));
    assert.ok(congrats, sentTexts().join('\n'));
    // On Telegram the PDF also goes as a document (Telegram fetches it from the signed link).
    const withDocument = channel.sent.flatMap((x) => x.replies).find((r) => r.document);
    assert.match(withDocument?.document?.filename ?? '', /^paz-y-salvo-PYS-[A-Z2-9]{4}-[A-Z2-9]{4}\.pdf$/);
    const pdfLink = /aquí: (\S+)/.exec(congrats)?.[1] as string;
    const code = /Código de verificación: (PYS-[A-Z2-9]{4}-[A-Z2-9]{4})/.exec(congrats)?.[1] as string;
    assert.ok(pdfLink && code);
    const pdfRes = await fetch(pdfLink);
    assert.equal(pdfRes.status, 200);
    assert.equal(pdfRes.headers.get('content-type'), 'application/pdf');
    const pdf = Buffer.from(await pdfRes.arrayBuffer());
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const pdfFile = path.join(ARTIFACTS, 'paz-y-salvo.pdf');
    fs.writeFileSync(pdfFile, pdf);
    const text = execFileSync('pdftotext', ['-layout', pdfFile, '-'], { encoding: 'utf8' });
    for (const expected of ['Cobranzas Andinas S.A.S.', 'PAZ Y SALVO', 'Carlos Fajardo', '*****915', reference, 'COMPAÑÍA DE FINANCIAMIENTO TUYA S.A.', 'Total pagado: $111.110', 'lunes 28 de diciembre de 2026', code, `${base}/verificar/${code}`]) {
      assert.ok(text.includes(expected), `the PDF says ${expected}:\n${text}`);
    }
    assert.ok(!text.includes('93388915'), 'the full cédula never appears');
    execFileSync('pdftoppm', ['-png', '-r', '80', '-singlefile', pdfFile, path.join(ARTIFACTS, 'paz-y-salvo')]);
    assert.ok(fs.statSync(path.join(ARTIFACTS, 'paz-y-salvo.png')).size > 1000);

    // Asked in the chat once paid, the bot gives the paz y salvo.
    const later = new Chat(engine, 'tg-carlos', 'telegram', f.clock as never);
    for (const text of ['hola', '93388915', '4567']) await later.send(text);
    await later.send('¿me dan el paz y salvo?');
    assert.match(later.text, new RegExp(`Su acuerdo ${reference} está pagado en su totalidad.*paz-y-salvo/${code}\\.pdf\\?exp=.*Código de verificación: ${code}`, 's'));

    // An expired link is refused (7 days).
    f.clock.time = bog('2027-01-05T10:00');
    assert.equal((await fetch(pdfLink)).status, 403);

    // 8. Anyone verifies the code: validity and the masked holder only.
    const verify = await fetch(`${base}/verificar/${code}`, { headers: { accept: 'application/json' } });
    const body = (await verify.json()) as Record<string, unknown>;
    assert.deepEqual(body, { code, valid: true, holder: 'Carlos — C.C. *****915', issued_on: '2026-12-28' });
    assert.equal((await fetch(`${base}/verificar/PYS-AAAA-AAAA`, { headers: { accept: 'application/json' } })).status, 404);

    // 9. Operations: the agreement with its schedule and payments.
    const detail = (await (await fetch(`${base}/api/v1/admin/agreements/${agreement.id}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
      status: string;
      paid: number;
      balance: number;
      schedule: unknown[];
      payments: { source: string; allocations: { installment: number; amount: number }[] }[];
    };
    assert.equal(detail.status, 'cumplido');
    assert.deepEqual([detail.paid, detail.balance, detail.schedule.length], [111110, 0, 3]);
    assert.deepEqual(
      detail.payments.map((p) => [p.source, p.allocations]),
      [
        ['gateway', [{ installment: 1, amount: 37037 }]],
        ['bank_file', [{ installment: 2, amount: 37037 }, { installment: 3, amount: 37036 }]],
      ],
    );
    assert.equal((await fetch(`${base}/api/v1/admin/agreements/${agreement.id}`)).status, 401);
  });
});
