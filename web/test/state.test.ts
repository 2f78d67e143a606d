import {describe, expect, it} from 'vitest';
import {ApiError, fieldPath} from '../src/api/client';
import {changes, kindsOf} from '../src/api/live';
import {CommandHistory} from '../src/lib/console';

describe('API errors', () => {
  it('name the field the API refused, as the UI names it', () => {
    expect(new ApiError(400, 'INVALID_ARGUMENT', 'settings.max_players: expected 1 to 32').field).toBe('settings.maxPlayers');
    expect(new ApiError(400, 'INVALID_ARGUMENT', 'settings.cvars[0]: a list inside a list').field).toBe('settings.cvars[0]');
    expect(new ApiError(409, 'ALREADY_EXISTS', 'a blueprint named e2e exists').field).toBeUndefined();
    expect(fieldPath('source.archive.sha256')).toBe('source.archive.sha256');
  });
});

describe('live changes', () => {
  it('mark what an audit action touches', () => {
    expect(kindsOf('server.start')).toEqual(['audit', 'servers', 'jobs', 'hosts']);
    expect(kindsOf('token.revoke')).toEqual(['audit', 'tokens']);
    expect(kindsOf('something.new')).toEqual(['audit', 'jobs']);
  });
  it('keep one counter per kind', () => {
    expect(Object.keys(changes).sort()).toEqual(['audit', 'blueprints', 'hosts', 'jobs', 'overlays', 'players', 'servers', 'tokens', 'users']);
  });
});

describe('CommandHistory', () => {
  it('walks older and newer commands, keeping the draft', () => {
    const history = new CommandHistory();
    history.push('status');
    history.push('users');
    history.push('users');  // a repeat is kept once
    expect(history.move(-1, 'dra')).toBe('users');
    expect(history.move(-1, 'users')).toBe('status');
    expect(history.move(-1, 'status')).toBe('status');
    expect(history.move(1, 'status')).toBe('users');
    expect(history.move(1, 'users')).toBe('dra');
  });
  it('keeps at most its limit', () => {
    const history = new CommandHistory(2);
    for (const command of ['a', 'b', 'c']) history.push(command);
    expect(history.move(-1, '')).toBe('c');
    expect(history.move(-1, '')).toBe('b');
    expect(history.move(-1, '')).toBe('b');
  });
});
