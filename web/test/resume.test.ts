import {describe, expect, it} from 'vitest';
import {ResumePoint, reconnectDelay} from '../src/lib/resume';

describe('ResumePoint', () => {
  it('accepts each audit id once, in order, and skips what a reconnect replays', () => {
    const point = new ResumePoint();
    expect(point.accept('a0001')).toBe(true);
    expect(point.accept('a0002')).toBe(true);
    // The browser reconnects with Last-Event-ID a0002; the controller replays from there, and
    // a controller that lost track sends older ones again: none is handled twice.
    expect(point.accept('a0002')).toBe(false);
    expect(point.accept('a0001')).toBe(false);
    expect(point.accept('a0003')).toBe(true);
    expect(point.lastId).toBe('a0003');
  });

  it('always accepts events without an id (live statuses are never replayed)', () => {
    const point = new ResumePoint('a0005');
    expect(point.accept('')).toBe(true);
    expect(point.accept(undefined)).toBe(true);
    expect(point.lastId).toBe('a0005');
  });

  it('resumes a new stream after the last id through the query', () => {
    expect(new ResumePoint().url('/api/v1/events')).toBe('/api/v1/events');
    expect(new ResumePoint('a00/1+').url('/api/v1/events')).toBe('/api/v1/events?last_event_id=a00%2F1%2B');
  });
});

describe('reconnectDelay', () => {
  it('backs off from half a second to at most eight', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(reconnectDelay)).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });
});
