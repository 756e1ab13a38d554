/**
 * Calendar dates as debtors and agreements see them: America/Bogota (UTC-5 all year,
 * no daylight saving), as YYYY-MM-DD strings.
 */
import Holidays from 'date-holidays';

const BOGOTA_OFFSET_MS = -5 * 60 * 60 * 1000;

/** Today's date in Bogotá. */
export function bogotaDate(now: Date): string {
  return new Date(now.getTime() + BOGOTA_OFFSET_MS).toISOString().slice(0, 10);
}

export function addDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

let holidays: Holidays | undefined;
const holidayCache = new Map<number, Map<string, string>>();

/** Colombia's public holidays of a year (Ley Emiliani included), by local date (YYYY-MM-DD) → name. */
function holidaysOf(year: number): Map<string, string> {
  let byDate = holidayCache.get(year);
  if (!byDate) {
    holidays ??= new Holidays('CO');
    byDate = new Map();
    for (const h of holidays.getHolidays(year)) {
      if (h.type === 'public') byDate.set(h.date.slice(0, 10), h.name);
    }
    holidayCache.set(year, byDate);
  }
  return byDate;
}

/**
 * The holiday's name when the local date (YYYY-MM-DD, Bogotá) is a Colombian public
 * holiday. The one calendar: due dates, business-day answers and the contact window.
 */
export function colombianHoliday(localDate: string): string | undefined {
  return holidaysOf(Number(localDate.slice(0, 4))).get(localDate);
}

/** Monday to Friday and not a Colombian public holiday (Ley Emiliani included). */
export function isBusinessDay(isoDate: string): boolean {
  const day = new Date(`${isoDate}T12:00:00Z`).getUTCDay();
  if (day === 0 || day === 6) return false;
  return colombianHoliday(isoDate) === undefined;
}

/** The date `n` business days after `isoDate` (Ley 1581 answers: 15 business days). */
export function addBusinessDays(isoDate: string, n: number): string {
  let date = isoDate;
  let left = n;
  while (left > 0) {
    date = addDays(date, 1);
    if (isBusinessDay(date)) left--;
  }
  return date;
}
