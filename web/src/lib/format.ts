// How values read on the page: times, durations, sizes, states.
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (seconds < 0) return 'in ' + span(-seconds);
  if (seconds < 5) return 'just now';
  return span(seconds) + ' ago';
}

export function span(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}

// A protobuf JSON duration ("12.5s") as a short span.
export function duration(value: string | undefined): string {
  if (!value) return '';
  const seconds = Number.parseFloat(value);
  return Number.isFinite(seconds) ? span(Math.floor(seconds)) : value;
}

// A short protobuf Duration ("0.002500s") in milliseconds.
export function millis(value: string | undefined): string {
  if (!value) return '';
  const seconds = Number.parseFloat(value);
  return Number.isFinite(seconds) ? `${(seconds * 1000).toFixed(1)} ms` : value;
}

export function bytes(value: number | string | undefined): string {
  let n = Number(value ?? 0);
  if (!Number.isFinite(n) || n <= 0) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return `${n >= 10 || unit === 0 ? Math.round(n) : n.toFixed(1)} ${units[unit]}`;
}

export function dateTime(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  return date.toLocaleString(undefined, {dateStyle: 'medium', timeStyle: 'medium'});
}

// A state's tone for its badge: good, busy, bad or idle.
export function tone(state: string | undefined): 'good' | 'busy' | 'bad' | 'idle' {
  switch (state) {
    case 'running': case 'ready': case 'succeeded':
      return 'good';
    case 'starting': case 'stopping': case 'queued': case 'enrolling': case 'draining':
      return 'busy';
    case 'crashed': case 'crash_loop': case 'hung': case 'failed': case 'unreachable': case 'missing':
      return 'bad';
    default:
      return 'idle';
  }
}

export function stateLabel(state: string | undefined): string {
  if (!state) return 'unknown';
  return state.replace(/_/g, ' ');
}

// The ports of a host's range not taken by anything.
export function freePorts(first = 0, last = 0, inUse: number[] = []): number {
  if (!first || !last || last < first) return 0;
  const taken = new Set(inUse.filter((port) => port >= first && port <= last));
  return last - first + 1 - taken.size;
}

// A span as people write it ("90s", "5m", "1h30m", "2d"): seconds, or NaN when it is not one.
export function parseSpan(text: string): number {
  const trimmed = text.trim();
  if (!/^(\d+[dhms])+$/.test(trimmed)) return Number.NaN;
  const units: Record<string, number> = {d: 86400, h: 3600, m: 60, s: 1};
  let seconds = 0;
  for (const [, count, unit] of trimmed.matchAll(/(\d+)([dhms])/g)) seconds += Number(count) * units[unit];
  return seconds;
}

// Seconds as parseSpan reads them back ("1h30m", "5m", "45s").
export function spanText(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '';
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as [string, number][]) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)}${unit}`);
      seconds %= size;
    }
  }
  return parts.join('');
}
