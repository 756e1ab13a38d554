import { TEST_TIME } from '../support/ports.js';
import assert from 'node:assert/strict';
import { formatBogota, revokeChannel } from '../../src/compliance/index.js';
import {
  campaignStatus,
  cancelCampaign,
  planCampaign,
  startCampaign,
  templateContent,
  textContent,
  type CampaignSettings,
  type StartOptions,
} from '../../src/campaigns/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { bog, conversation, debtor, inbound, portfolio, type SeededDebtor } from '../compliance/seed.js';

const settings: CampaignSettings = { ratePerMinute: { 'whatsapp-cloud': 60, 'whatsapp-web': 4, telegram: 20 } };

describe('outbound campaigns', () => {
  let db: TestDatabase;
  let pid: number;
  let debtors: SeededDebtor[];
  // A Tuesday morning, inside the contact window.
  const now = bog('2026-03-03T09:00');

  beforeEach(async () => {
    db = await freshDatabase();
    pid = await portfolio(db.knex, 'Banco Uno');
    debtors = [];
    for (let i = 0; i < 6; i++) debtors.push(await debtor(db.knex, pid));
  });
  afterEach(async () => {
    await db.drop();
  });

  const options = (over: Partial<StartOptions> = {}): StartOptions => ({
    portfolio: 'Banco Uno',
    channel: 'whatsapp-cloud',
    template: 'apertura_cobranza',
    content: templateContent('apertura_cobranza', 'es_CO', ['nombre']),
    settings,
    now: () => now,
    ...over,
  });

  async function campaignRows(): Promise<{ recipient: string; next_attempt_at: Date; status: string; payload: unknown }[]> {
    return db.knex('outbox').where({ kind: 'campaign' }).orderBy('next_attempt_at').select('recipient', 'next_attempt_at', 'status', 'payload');
  }

  it('--dry-run lists who would be contacted and who is skipped and why, changing nothing', async () => {
    const landline = await debtor(db.knex, pid, { phone: '576015551234' });
    const noPhone = await debtor(db.knex, pid, { phone: null });
    await db.knex.transaction((trx) => revokeChannel(trx, { channel: 'whatsapp-cloud', userId: debtors[0]!.phone!, debtorId: debtors[0]!.id, at: now }));
    await db.knex('agreements').insert({ debtor_id: debtors[1]!.id, portfolio_id: pid, kind: 'contado', total: 1, installment_amount: 1, first_due_date: '2026-03-10', channel: 'telegram', status: 'vigente', created_at: TEST_TIME });
    await conversation(db.knex, { channel: 'telegram', userId: '99', debtorId: debtors[2]!.id, lastActivity: now });
    const plan = await planCampaign(db.knex, { portfolio: 'Banco Uno', channel: 'whatsapp-cloud', now });
    const byDebtor = new Map(plan.entries.map((e) => [e.debtor.id, e]));
    assert.equal(byDebtor.get(debtors[0]!.id)?.reason, 'canal_revocado');
    assert.equal(byDebtor.get(debtors[1]!.id)?.reason, 'acuerdo_vigente');
    assert.equal(byDebtor.get(debtors[2]!.id)?.reason, 'en_conversacion');
    assert.equal(byDebtor.get(landline.id)?.reason, 'telefono_fijo');
    assert.equal(byDebtor.get(noPhone.id)?.reason, 'sin_telefono');
    for (const d of debtors.slice(3)) assert.deepEqual([byDebtor.get(d.id)?.action, byDebtor.get(d.id)?.at?.getTime()], ['send', now.getTime()]);
    assert.equal(Number((await db.knex('campaigns').count('* as n').first())!.n), 0);
    assert.equal((await campaignRows()).length, 0);

    // At night, the same debtors are deferred to the window.
    const night = await planCampaign(db.knex, { portfolio: 'Banco Uno', channel: 'whatsapp-cloud', now: bog('2026-03-03T22:00') });
    const deferred = night.entries.filter((e) => e.action === 'defer');
    assert.equal(deferred.length, 3);
    assert.ok(deferred.every((e) => e.reason === 'fuera_de_horario' && formatBogota(e.at!) === '2026-03-04T07:00:00-05:00'));
  });

  it('sends through the outbox, paced per channel, as an approved template on WhatsApp Cloud', async () => {
    const r = await startCampaign(db.knex, options());
    assert.deepEqual({ queued: r.queued, deferred: r.deferred, skipped: r.skipped, resumed: r.resumed }, { queued: 6, deferred: 0, skipped: 0, resumed: false });
    const rows = await campaignRows();
    assert.equal(rows.length, 6);
    // 60 a minute: one a second.
    assert.deepEqual(rows.map((x) => (x.next_attempt_at.getTime() - now.getTime()) / 1000), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual((rows[0]!.payload as { template: unknown }[])[0]!.template, { name: 'apertura_cobranza', language: 'es_CO', bodyParameters: ['Carlos'] });
    // Telegram at 20 a minute, after WhatsApp's rows: its own channel's pace.
    const tgPortfolio = await portfolio(db.knex, 'Telegram');
    for (let i = 0; i < 3; i++) {
      const d = await debtor(db.knex, tgPortfolio);
      await conversation(db.knex, { channel: 'telegram', userId: `tg${i}`, debtorId: d.id, lastActivity: bog('2026-02-01T10:00'), status: 'closed' });
    }
    await startCampaign(db.knex, options({ portfolio: 'Telegram', channel: 'telegram', template: 'campaign_opening', content: textContent(() => 'Hola') }));
    const tg = await db.knex('outbox').where({ kind: 'campaign', channel: 'telegram' }).orderBy('next_attempt_at').select('next_attempt_at', 'payload');
    assert.deepEqual(tg.map((x) => (x.next_attempt_at.getTime() - now.getTime()) / 1000), [0, 3, 6]);
    assert.deepEqual(tg[0].payload, [{ text: 'Hola' }]);
    const [status] = await campaignStatus(db.knex, { portfolio: 'Banco Uno' });
    assert.equal(status?.status, 'queued');
    assert.equal(status?.queued, 6);
  });

  it('resumes after a crash without messaging anyone twice', async () => {
    let n = 0;
    const crashAtThird = options({
      beforeCommit: () => {
        if (++n === 3) throw new Error('simulated crash');
      },
    });
    await assert.rejects(startCampaign(db.knex, crashAtThird), /simulated crash/);
    assert.equal((await campaignRows()).length, 2, "the third target's transaction rolled back");
    const [mid] = await campaignStatus(db.knex);
    assert.equal(mid?.status, 'running');
    assert.equal(mid?.pending, 4);

    const resumed = await startCampaign(db.knex, options());
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.queued, 4);
    const rows = await campaignRows();
    assert.equal(rows.length, 6);
    assert.equal(new Set(rows.map((x) => x.recipient)).size, 6, 'every debtor exactly once');
    assert.equal(new Set(rows.map((x) => x.next_attempt_at.getTime())).size, 6, 'the resumed run kept the pace after the first run');
    // Starting once more (the operator thought it had crashed) writes to nobody again…
    const again = await startCampaign(db.knex, options());
    assert.equal(again.resumed, false, 'the finished campaign is done: this is a new one');
    assert.deepEqual([again.queued, again.deferred, again.skipped], [0, 0, 6]);
    const [repeatStatus] = await campaignStatus(db.knex, { campaignId: again.campaignId });
    assert.deepEqual(repeatStatus?.skipped_by_reason, { ya_contactado: 6 });
    // …unless asked to, and then not on the same day.
    const repeat = await startCampaign(db.knex, options({ repeat: true }));
    assert.deepEqual([repeat.queued, repeat.deferred], [0, 6]);
    const today = await db.knex('outbox').where({ kind: 'campaign' }).where('next_attempt_at', '<', bog('2026-03-04T00:00')).count('* as n').first();
    assert.equal(Number(today!.n), 6);
  });

  it('two processes resuming the same campaign at once queue each debtor once', async () => {
    let n = 0;
    await assert.rejects(startCampaign(db.knex, options({ beforeCommit: () => { if (++n === 1) throw new Error('crash'); } })));
    await Promise.all([startCampaign(db.knex, options()), startCampaign(db.knex, options())]);
    const rows = await campaignRows();
    assert.equal(rows.length, 6);
    assert.equal(new Set(rows.map((x) => x.recipient)).size, 6);
  });

  it('an opt-out blocks later campaigns on that channel', async () => {
    const first = await startCampaign(db.knex, options());
    assert.equal(first.queued, 6);
    // The debtor answers "STOP" on WhatsApp; the engine records the revocation.
    await db.knex.transaction((trx) => revokeChannel(trx, { channel: 'whatsapp-cloud', userId: debtors[4]!.phone!, debtorId: debtors[4]!.id, message: 'STOP', at: now }));
    const later = await startCampaign(db.knex, options({ repeat: true, now: () => bog('2026-03-10T09:00') }));
    assert.equal(later.skipped, 1);
    const target = await db.knex('campaign_targets').where({ campaign_id: later.campaignId, debtor_id: debtors[4]!.id }).first();
    assert.deepEqual([target.status, target.reason], ['skipped', 'canal_revocado']);
    assert.equal(Number((await db.knex('outbox').where({ kind: 'campaign', recipient: debtors[4]!.phone }).count('* as n').first())!.n), 1);
    const [status] = await campaignStatus(db.knex, { campaignId: later.campaignId });
    assert.deepEqual(status?.skipped_by_reason, { canal_revocado: 1 });
  });

  it('keeps the daily limit across two channels', async () => {
    // Everybody also chatted on Telegram once, long ago.
    for (const [i, d] of debtors.entries()) {
      await conversation(db.knex, { channel: 'telegram', userId: `t${i}`, debtorId: d.id, lastActivity: bog('2026-01-10T10:00'), status: 'closed' });
    }
    await startCampaign(db.knex, options());
    const tg = await startCampaign(db.knex, options({ channel: 'telegram', template: 'campaign_opening', content: textContent(() => 'Hola') }));
    assert.deepEqual([tg.queued, tg.deferred], [0, 6]);
    const rows = await db.knex('outbox').where({ kind: 'campaign', channel: 'telegram' }).select('status', 'next_attempt_at');
    assert.ok(rows.every((r) => r.status === 'deferred' && formatBogota(r.next_attempt_at).startsWith('2026-03-04T07:')));
    const [status] = await campaignStatus(db.knex, { campaignId: tg.campaignId });
    assert.equal(status?.deferred, 6);
  });

  it('status counts sent, failed and replied', async () => {
    const r = await startCampaign(db.knex, options());
    const targets = await db.knex('campaign_targets').where({ campaign_id: r.campaignId }).orderBy('id').select('outbox_id', 'recipient');
    const sentAt = bog('2026-03-03T09:01');
    await db.knex('outbox').whereIn('id', targets.slice(0, 3).map((t) => t.outbox_id)).update({ status: 'delivered', sent_at: sentAt });
    await db.knex('outbox').where({ id: targets[3]!.outbox_id }).update({ status: 'failed', last_error: '131026' });
    // The first debtor answers.
    const conv = await conversation(db.knex, { channel: 'whatsapp-cloud', userId: targets[0]!.recipient, lastActivity: bog('2026-03-03T09:05') });
    await inbound(db.knex, conv, 'whatsapp-cloud', bog('2026-03-03T09:05'), '93388915');
    const [s] = await campaignStatus(db.knex, { campaignId: r.campaignId });
    assert.deepEqual(
      { sent: s?.sent, failed: s?.failed, queued: s?.queued, replied: s?.replied, targets: s?.targets },
      { sent: 3, failed: 1, queued: 2, replied: 1, targets: 6 },
    );
  });

  it('cancel stops what has not been sent', async () => {
    const r = await startCampaign(db.knex, options({ now: () => bog('2026-03-03T22:00') }));
    assert.equal(r.deferred, 6);
    assert.deepEqual(await cancelCampaign(db.knex, r.campaignId, now), { cancelled: 6 });
    const [s] = await campaignStatus(db.knex, { campaignId: r.campaignId });
    assert.deepEqual([s?.status, s?.failed, s?.deferred], ['cancelled', 6, 0]);
  });

  it('refuses an unknown portfolio, and a resume with another template', async () => {
    await assert.rejects(startCampaign(db.knex, options({ portfolio: 'Nada' })), /no portfolio named "Nada"/);
    await assert.rejects(startCampaign(db.knex, options({ beforeCommit: () => { throw new Error('crash'); } })));
    await assert.rejects(startCampaign(db.knex, options({ template: 'otra' })), /unfinished and uses "apertura_cobranza"/);
  });
});
