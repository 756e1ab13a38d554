/**
 * The hours in which a collection agency may contact a debtor (Ley 2300 de 2023,
 * art. 3): Monday to Friday 07:00–19:00 and Saturday 08:00–15:00, America/Bogota;
 * never on Sundays or Colombian public holidays (Ley Emiliani moves several to Monday).
 * The closing minute is outside the window: 19:00 on a weekday is too late.
 */
import { colombianHoliday, InvariantError } from '../core/index.js';
import { DateTime } from 'luxon';

export const CONTACT_TIME_ZONE = 'America/Bogota';

/** Why contact is not allowed at a time (the words operators see, in Spanish like the law). */
export type WindowReason = 'festivo' | 'domingo' | 'fuera_de_horario';

export type WindowCheck =
  | { allowed: true }
  | {
      allowed: false;
      reason: WindowReason;
      /** The next moment contact is allowed. */
      next: Date;
      /** The holiday's name when the reason is festivo. */
      holiday?: string;
    };

/** Opening and closing minutes after local midnight for an ISO weekday (1 = Monday). */
const HOURS: Record<number, { open: number; close: number } | undefined> = {
  1: { open: 7 * 60, close: 19 * 60 },
  2: { open: 7 * 60, close: 19 * 60 },
  3: { open: 7 * 60, close: 19 * 60 },
  4: { open: 7 * 60, close: 19 * 60 },
  5: { open: 7 * 60, close: 19 * 60 },
  6: { open: 8 * 60, close: 15 * 60 },
  7: undefined,
};

/** The holiday's name when the local date is a Colombian public holiday (the core calendar). */
export { colombianHoliday };

function local(at: Date): DateTime {
  return DateTime.fromJSDate(at, { zone: CONTACT_TIME_ZONE });
}

/** The calendar date in Bogotá (YYYY-MM-DD). */
export function bogotaDay(at: Date): string {
  return local(at).toISODate() as string;
}

/** The first instant of the next Bogotá calendar day. */
export function startOfNextBogotaDay(at: Date): Date {
  return local(at).startOf('day').plus({ days: 1 }).toJSDate();
}

/** ISO 8601 with Bogotá's offset and no milliseconds: 2026-12-09T07:00:00-05:00. */
export function formatBogota(at: Date): string {
  return local(at).startOf('second').toISO({ suppressMilliseconds: true }) as string;
}

/**
 * Parses a date-time for the CLI: with an offset or Z it is that instant; without one
 * it is Bogotá wall-clock time (2026-12-08T10:00 means 10:00 in Colombia).
 */
export function parseBogotaDateTime(text: string): Date | undefined {
  const dt = DateTime.fromISO(text.trim(), { zone: CONTACT_TIME_ZONE, setZone: false });
  return dt.isValid ? dt.toJSDate() : undefined;
}

/** Whether a local day has a window at all, and why not. */
function dayStatus(day: DateTime): { hours: { open: number; close: number } } | { reason: WindowReason; holiday?: string } {
  if (day.weekday === 7) return { reason: 'domingo' };
  const holiday = colombianHoliday(day.toISODate() as string);
  if (holiday) return { reason: 'festivo', holiday };
  const hours = HOURS[day.weekday];
  return hours ? { hours } : { reason: 'domingo' };
}

/** The first allowed instant at or after `at` under the legal window. */
export function nextWindowOpening(at: Date): Date {
  const t = local(at);
  let day = t.startOf('day');
  for (let i = 0; i < 30; i++) {
    const status = dayStatus(day);
    if ('hours' in status) {
      const open = day.plus({ minutes: status.hours.open });
      const close = day.plus({ minutes: status.hours.close });
      if (t < open) return open.toJSDate();
      if (t < close) return t.toJSDate();
    }
    day = day.plus({ days: 1 });
  }
  // Thirty days without a window cannot happen in Colombia's calendar.
  throw new InvariantError('no contact window within 30 days', { at: at.toISOString() });
}

/**
 * The last answer of checkContactWindow and the minute it is for: the window opens and
 * closes on whole minutes, so every turn within one minute gets the same answer without
 * the time-zone arithmetic again (each turn asks it).
 */
let lastCheck: { minute: number; check: WindowCheck } | undefined;

/** Whether the law's window allows a collection contact at `at`; if not, why and when next. */
export function checkContactWindow(at: Date): WindowCheck {
  const minute = Math.floor(at.getTime() / 60_000);
  if (lastCheck?.minute === minute) return lastCheck.check;
  const check = computeContactWindow(at);
  lastCheck = { minute, check };
  return check;
}

function computeContactWindow(at: Date): WindowCheck {
  const t = local(at);
  const status = dayStatus(t.startOf('day'));
  if ('hours' in status) {
    const minute = t.hour * 60 + t.minute;
    if (minute >= status.hours.open && minute < status.hours.close) return { allowed: true };
    return { allowed: false, reason: 'fuera_de_horario', next: nextWindowOpening(at) };
  }
  return {
    allowed: false,
    reason: status.reason,
    next: nextWindowOpening(at),
    ...(status.holiday ? { holiday: status.holiday } : {}),
  };
}

/**
 * A debtor's recorded express request to be contacted at other hours: on these ISO
 * weekdays (1 = Monday), between these local minutes, until `validUntil`.
 */
export interface ExpressHours {
  days: readonly number[];
  /** Minutes after local midnight; from < to. */
  fromMinute: number;
  toMinute: number;
  validUntil?: Date | null;
}

/** 'HH:MM' → minutes after midnight, or undefined when malformed. */
export function parseClock(text: string): number | undefined {
  const m = /^([01]?\d|2[0-4]):([0-5]\d)$/.exec(text.trim());
  if (!m) return undefined;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes <= 24 * 60 ? minutes : undefined;
}

function inExpressHours(at: Date, hours: ExpressHours): boolean {
  if (hours.validUntil && at >= hours.validUntil) return false;
  const t = local(at);
  const minute = t.hour * 60 + t.minute;
  return hours.days.includes(t.weekday) && minute >= hours.fromMinute && minute < hours.toMinute;
}

/** The first instant at or after `at` inside one of the express requests, if any. */
function nextExpressOpening(at: Date, requests: readonly ExpressHours[]): Date | undefined {
  let best: Date | undefined;
  const t = local(at);
  for (const r of requests) {
    let day = t.startOf('day');
    for (let i = 0; i < 8; i++) {
      if (r.days.includes(day.weekday)) {
        const open = day.plus({ minutes: r.fromMinute });
        const close = day.plus({ minutes: r.toMinute });
        const candidate = t < open ? open : t < close ? t : undefined;
        if (candidate && (!r.validUntil || candidate.toJSDate() < r.validUntil)) {
          if (!best || candidate.toJSDate() < best) best = candidate.toJSDate();
          break;
        }
      }
      day = day.plus({ days: 1 });
    }
  }
  return best;
}

/**
 * The window for one debtor: the law's, widened by the debtor's express requests.
 * `next` is the earliest of the law's next opening and the debtor's next requested hours.
 */
export function checkDebtorWindow(at: Date, express: readonly ExpressHours[] = []): WindowCheck {
  const legal = checkContactWindow(at);
  if (legal.allowed) return legal;
  if (express.some((r) => inExpressHours(at, r))) return { allowed: true };
  const expressNext = nextExpressOpening(at, express);
  if (expressNext && expressNext < legal.next) return { ...legal, next: expressNext };
  return legal;
}
