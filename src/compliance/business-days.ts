/** Colombian business days (Monday to Friday, not a public holiday), on Bogotá calendar dates. */
import { DateTime } from 'luxon';
import { colombianHoliday } from './contact-window.js';

/** True for Monday–Friday dates (YYYY-MM-DD) that are not a Colombian public holiday. */
export function isBusinessDay(localDate: string): boolean {
  const d = DateTime.fromISO(localDate, { zone: 'UTC' });
  return d.weekday <= 5 && colombianHoliday(localDate) === undefined;
}

/** The date `n` business days after `localDate` (a Ley 1581 answer is due in 15). */
export function addBusinessDays(localDate: string, n: number): string {
  let d = DateTime.fromISO(localDate, { zone: 'UTC' });
  let left = n;
  while (left > 0) {
    d = d.plus({ days: 1 });
    if (isBusinessDay(d.toISODate() as string)) left--;
  }
  return d.toISODate() as string;
}
