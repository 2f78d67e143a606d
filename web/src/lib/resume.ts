// The part of following /api/v1/events that must be exactly right, kept free of the browser so
// it is unit tested: which event id to resume after, and that no entry is handled twice when a
// reconnect replays what was already seen (audit ids increase, compared as strings).
export class ResumePoint {
  private last: string;

  constructor(last = '') {
    this.last = last;
  }

  get lastId(): string {
    return this.last;
  }

  // True the first time an id past the resume point is offered; false for a replayed one.
  accept(id: string | undefined): boolean {
    if (!id) return true;  // events without an id (live status) are never replayed
    if (this.last && id <= this.last) return false;
    this.last = id;
    return true;
  }

  // Where a fresh EventSource resumes (a new EventSource cannot send Last-Event-ID itself).
  url(base: string): string {
    return this.last ? `${base}?last_event_id=${encodeURIComponent(this.last)}` : base;
  }
}

// Delay before the n-th reconnect attempt (n from 0) after the stream closed for good:
// quick at first, then every few seconds, never hammering a restarting controller.
export function reconnectDelay(attempt: number): number {
  return Math.min(500 * 2 ** attempt, 8000);
}
