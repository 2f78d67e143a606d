import {describe, expect, it} from 'vitest';
import {ago, bytes, duration, freePorts, parseSpan, span, spanText, stateLabel, tone} from '../src/lib/format';

describe('format', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  it('says how long ago', () => {
    expect(ago(undefined, now)).toBe('never');
    expect(ago('2026-12-03T11:59:58Z', now)).toBe('just now');
    expect(ago('2026-12-03T11:59:00Z', now)).toBe('1m ago');
    expect(ago('2026-12-03T09:30:00Z', now)).toBe('2h 30m ago');
    expect(ago('2026-11-30T12:00:00Z', now)).toBe('3d 0h ago');
    expect(ago('2026-12-03T12:00:30Z', now)).toBe('in 30s');
  });
  it('reads protobuf durations and sizes', () => {
    expect(duration('75.5s')).toBe('1m');
    expect(duration(undefined)).toBe('');
    expect(span(59)).toBe('59s');
    expect(bytes('1536')).toBe('1.5 KiB');
    expect(bytes(25275973632)).toBe('24 GiB');
    expect(bytes(0)).toBe('0 B');
  });
  it('reads and writes spans as people type them', () => {
    expect(parseSpan('5m')).toBe(300);
    expect(parseSpan(' 1h30m ')).toBe(5400);
    expect(parseSpan('2d')).toBe(172800);
    expect(parseSpan('5')).toBeNaN();
    expect(parseSpan('5 minutes')).toBeNaN();
    expect(parseSpan('')).toBeNaN();
    expect(spanText(5400)).toBe('1h30m');
    expect(spanText(300)).toBe('5m');
    expect(spanText(86401)).toBe('1d1s');
    expect(parseSpan(spanText(93784))).toBe(93784);
  });
  it('gives states a tone and a label', () => {
    expect(tone('running')).toBe('good');
    expect(tone('crash_loop')).toBe('bad');
    expect(tone('starting')).toBe('busy');
    expect(tone(undefined)).toBe('idle');
    expect(stateLabel('crash_loop')).toBe('crash loop');
    expect(stateLabel('')).toBe('unknown');
  });
  it('counts free ports of a range, ignoring ports outside it', () => {
    expect(freePorts(27015, 27024, [27015, 27016, 30000])).toBe(8);
    expect(freePorts(0, 0, [])).toBe(0);
  });
});
