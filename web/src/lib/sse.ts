// Server-Sent Events read with fetch, for the console: EventSource dispatches one task per
// event, and a game printing 20,000 lines a second would keep the page busy with nothing else.
// Here each network read's events are handed over together, once per read.

export interface SseEvent {
  type: string;  // "message" when the event names none
  data: string;
  id: string;    // the last event id seen so far (as EventSource's lastEventId)
}

// The text/event-stream format (WHATWG HTML, "Server-sent events"), fed in arbitrary pieces.
export class SseParser {
  private rest = '';
  private type = '';
  private data: string[] = [];
  private lastId = '';
  retry: number | undefined;

  constructor(lastId = '') {
    this.lastId = lastId;
  }

  get id(): string {
    return this.lastId;
  }

  feed(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    this.rest += text;
    let start = 0;
    for (;;) {
      const end = this.rest.indexOf('\n', start);
      if (end < 0) break;
      let line = this.rest.slice(start, end);
      start = end + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data.length) events.push({type: this.type || 'message', data: this.data.join('\n'), id: this.lastId});
        this.type = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.type = value;
      else if (field === 'id' && !value.includes('\0')) this.lastId = value;
      else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
    }
    this.rest = this.rest.slice(start);
    return events;
  }
}

export interface StreamOptions {
  onOpen: () => void;
  onEvents: (events: SseEvent[]) => void;
  onDown: (closed: boolean) => void;  // closed: the server refused (no retry will help)
}

// Follows `url` until stopped, reconnecting after `retry` with Last-Event-ID (fetch may send
// it, unlike a new EventSource). Returns the stop function.
export function followEventStream(url: string, options: StreamOptions): () => void {
  const abort = new AbortController();
  let lastId = '';
  let retry = 2000;
  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const response = await fetch(url, {
          headers: lastId ? {'Last-Event-ID': lastId, Accept: 'text/event-stream'} : {Accept: 'text/event-stream'},
          credentials: 'same-origin', signal: abort.signal,
        });
        if (!response.ok || !response.body) {
          options.onDown(response.status === 401 || response.status === 403 || response.status === 404);
          if (response.status === 401 || response.status === 403 || response.status === 404) return;
        } else {
          options.onOpen();
          const parser = new SseParser(lastId);
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const {value, done} = await reader.read();
            if (done) break;
            const events = parser.feed(value);
            lastId = parser.id;
            if (parser.retry !== undefined) retry = parser.retry;
            if (events.length) options.onEvents(events);
          }
          options.onDown(false);
        }
      } catch {
        if (abort.signal.aborted) return;
        options.onDown(false);
      }
      await new Promise((done) => setTimeout(done, retry));
    }
  };
  void run();
  return () => abort.abort();
}
