/**
 * Time windows: days of the week and a daily `between: [from, to]` in a named time zone.
 *
 * The engine has no clock: the call's `now` (epoch milliseconds) is a fact. `from` is inclusive and `to`
 * exclusive; when `from` is later than `to` the window wraps past midnight (`['22:00', '06:00']`) and the
 * day it belongs to is the day it started. Local times come from `Intl` with the IANA zone name.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface TimeWindowSpec {
  days?: readonly Weekday[];
  between?: readonly [string, string];
  tz: string;
}

export interface LocalTime {
  /** 0 = Sunday. */
  day: number;
  /** Minutes since local midnight. */
  minute: number;
}

export interface CompiledTimeWindow {
  test(now: number): boolean;
  describe(): string;
  /** The local day and time `now` falls on in this window's zone. */
  local(now: number): LocalTime;
}

const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$/;

export function parseHhMm(text: string): number | undefined {
  const m = HHMM.exec(text);
  if (m === null) return undefined;
  if (text === '24:00') return 24 * 60;
  return Number(m[1]) * 60 + Number(m[2]);
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const WEEKDAY_INDEX: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

function localTime(now: number, tz: string): LocalTime {
  if (tz === 'UTC') {
    const d = new Date(now);
    return { day: d.getUTCDay(), minute: d.getUTCHours() * 60 + d.getUTCMinutes() };
  }
  let formatter = formatters.get(tz);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(tz, formatter);
  }
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const part of formatter.formatToParts(now)) {
    if (part.type === 'weekday') day = WEEKDAY_INDEX[part.value] ?? 0;
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { day, minute: hour * 60 + minute };
}

export function compileTimeWindow(spec: TimeWindowSpec): CompiledTimeWindow {
  const days = spec.days === undefined ? undefined : new Set(spec.days.map((d) => WEEKDAYS.indexOf(d)));
  const from = spec.between === undefined ? undefined : parseHhMm(spec.between[0]);
  const to = spec.between === undefined ? undefined : parseHhMm(spec.between[1]);
  const tz = spec.tz;
  const text = [
    spec.days !== undefined ? spec.days.join(',') : 'any day',
    spec.between !== undefined ? `${spec.between[0]}-${spec.between[1]}` : 'all day',
    tz,
  ].join(' ');
  return {
    local: (now) => localTime(now, tz),
    describe: () => text,
    test(now: number): boolean {
      const { day, minute } = localTime(now, tz);
      if (from === undefined || to === undefined) return days === undefined || days.has(day);
      if (from <= to) return minute >= from && minute < to && (days === undefined || days.has(day));
      // Wraps midnight: the early-morning part belongs to the previous day's window.
      if (minute >= from) return days === undefined || days.has(day);
      if (minute < to) return days === undefined || days.has((day + 6) % 7);
      return false;
    },
  };
}
