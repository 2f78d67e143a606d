import {describe, expect, it} from 'vitest';
import {SseParser} from '../src/lib/sse';

describe('SseParser', () => {
  it('reads events split anywhere, with their types, ids and multi-line data', () => {
    const parser = new SseParser();
    const text = 'retry: 2000\n\n: heartbeat\nid: 7\nevent: line\ndata: {"text":"a"}\n\nevent: command\ndata: one\ndata: two\n\n';
    const events = [];
    for (let i = 0; i < text.length; i += 3) events.push(...parser.feed(text.slice(i, i + 3)));
    expect(events).toEqual([
      {type: 'line', data: '{"text":"a"}', id: '7'},
      {type: 'command', data: 'one\ntwo', id: '7'},
    ]);
    expect(parser.retry).toBe(2000);
    expect(parser.id).toBe('7');
  });

  it('takes CRLF, a field without a colon, no space after the colon, and keeps the resume id', () => {
    const parser = new SseParser('5');
    expect(parser.feed('data\r\n\r\ndata:x\n\nid\ndata: y\n\n')).toEqual([
      {type: 'message', data: '', id: '5'},
      {type: 'message', data: 'x', id: '5'},
      {type: 'message', data: 'y', id: ''},
    ]);
  });

  it('holds an unfinished event until its blank line', () => {
    const parser = new SseParser();
    expect(parser.feed('event: line\ndata: {"te')).toEqual([]);
    expect(parser.feed('xt":"b"}\n')).toEqual([]);
    expect(parser.feed('\n')).toEqual([{type: 'line', data: '{"text":"b"}', id: ''}]);
  });
});
