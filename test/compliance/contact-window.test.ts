import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  checkContactWindow,
  checkDebtorWindow,
  formatBogota,
  parseBogotaDateTime,
  type WindowCheck,
} from '../../src/compliance/index.js';

/** Bogotá wall-clock time → Date. */
function bog(local: string): Date {
  const d = parseBogotaDateTime(local);
  assert.ok(d, local);
  return d;
}

function expectBlocked(check: WindowCheck, reason: string, next: string): void {
  assert.equal(check.allowed, false);
  if (check.allowed) return;
  assert.equal(check.reason, reason);
  assert.equal(formatBogota(check.next), next);
}

describe('contact window (Ley 2300, art. 3)', () => {
  // 2026-03-03 is a Tuesday with no holiday.
  it('opens at 07:00 on a weekday: 06:59 is too early, 07:00 is fine', () => {
    expectBlocked(checkContactWindow(bog('2026-03-03T06:59')), 'fuera_de_horario', '2026-03-03T07:00:00-05:00');
    assert.deepEqual(checkContactWindow(bog('2026-03-03T07:00')), { allowed: true });
  });

  it('closes at 19:00 on a weekday: 18:59 is fine, 19:00 waits for the next morning', () => {
    assert.deepEqual(checkContactWindow(bog('2026-03-03T18:59')), { allowed: true });
    expectBlocked(checkContactWindow(bog('2026-03-03T19:00')), 'fuera_de_horario', '2026-03-04T07:00:00-05:00');
  });

  it('on Saturday is 08:00 to 15:00; 15:00 waits for Monday 07:00', () => {
    expectBlocked(checkContactWindow(bog('2026-03-07T07:30')), 'fuera_de_horario', '2026-03-07T08:00:00-05:00');
    assert.deepEqual(checkContactWindow(bog('2026-03-07T14:59')), { allowed: true });
    expectBlocked(checkContactWindow(bog('2026-03-07T15:00')), 'fuera_de_horario', '2026-03-09T07:00:00-05:00');
  });

  it('a Friday evening waits for Saturday 08:00', () => {
    expectBlocked(checkContactWindow(bog('2026-03-06T19:30')), 'fuera_de_horario', '2026-03-07T08:00:00-05:00');
  });

  it('never on a Sunday', () => {
    expectBlocked(checkContactWindow(bog('2026-03-08T10:00')), 'domingo', '2026-03-09T07:00:00-05:00');
  });

  it('never on a Monday holiday moved by Ley Emiliani (Reyes Magos 2026: Jan 6 → Monday Jan 12)', () => {
    expectBlocked(checkContactWindow(bog('2026-01-12T10:00')), 'festivo', '2026-01-13T07:00:00-05:00');
    // The original date is an ordinary Tuesday.
    assert.deepEqual(checkContactWindow(bog('2026-01-06T10:00')), { allowed: true });
  });

  it('never on 25 December; the next contact is Saturday 26 at 08:00', () => {
    expectBlocked(checkContactWindow(bog('2026-12-25T10:00')), 'festivo', '2026-12-26T08:00:00-05:00');
  });

  it('a Saturday evening before a Monday holiday skips to Tuesday', () => {
    // 2026-03-23 is San José (moved to Monday).
    expectBlocked(checkContactWindow(bog('2026-03-21T16:00')), 'fuera_de_horario', '2026-03-24T07:00:00-05:00');
  });

  it('reads times with an offset as that instant', () => {
    // 12:00Z is 07:00 in Bogotá.
    assert.deepEqual(checkContactWindow(new Date('2026-03-03T12:00:00Z')), { allowed: true });
    assert.equal(checkContactWindow(new Date('2026-03-03T11:59:00Z')).allowed, false);
    assert.equal(formatBogota(parseBogotaDateTime('2026-03-03T12:00:00Z')!), '2026-03-03T07:00:00-05:00');
  });

  it("a debtor's express request for other hours overrides the window, and only those hours", () => {
    const evenings = [{ days: [1, 2, 3, 4, 5, 6, 7], fromMinute: 19 * 60, toMinute: 21 * 60 }];
    assert.deepEqual(checkDebtorWindow(bog('2026-03-03T20:00'), evenings), { allowed: true });
    assert.deepEqual(checkDebtorWindow(bog('2026-03-08T19:30'), evenings), { allowed: true }, 'Sunday evening, as asked');
    expectBlocked(checkDebtorWindow(bog('2026-03-03T21:00'), evenings), 'fuera_de_horario', '2026-03-04T07:00:00-05:00');
    // Sunday morning: the next allowed time is the debtor's Sunday evening, before Monday 07:00.
    expectBlocked(checkDebtorWindow(bog('2026-03-08T10:00'), evenings), 'domingo', '2026-03-08T19:00:00-05:00');
    const expired = [{ ...evenings[0]!, validUntil: bog('2026-03-01T00:00') }];
    assert.equal(checkDebtorWindow(bog('2026-03-03T20:00'), expired).allowed, false);
  });
});

describe('npx acuerdo contact-window', function () {
  this.timeout(30_000);
  const bin = path.resolve(__dirname, '../../src/cli/bin.cjs');
  const run = (...args: string[]) => promisify(execFile)(process.execPath, [bin, 'contact-window', ...args], { env: { ...process.env, LOG_LEVEL: 'silent' } });

  it('prints the decision as JSON, as in the issue', async () => {
    const { stdout } = await run('2026-12-08T10:00:00-05:00', '--json');
    assert.equal(stdout.trim(), '{"allowed":false,"reason":"festivo","next":"2026-12-09T07:00:00-05:00"}');
    const ok = await run('2026-12-09T10:00', '--json');
    assert.deepEqual(JSON.parse(ok.stdout), { allowed: true });
  });

  it('explains in words, and refuses a date it cannot read', async () => {
    const { stdout } = await run('2026-03-08T10:00');
    assert.match(stdout, /Not allowed at 2026-03-08T10:00:00-05:00: domingo\. Next allowed: 2026-03-09T07:00:00-05:00/);
    await assert.rejects(run('mañana'), (err: { code?: number; stderr?: string }) => err.code === 1 && /ISO 8601/.test(err.stderr ?? ''));
  });
});
