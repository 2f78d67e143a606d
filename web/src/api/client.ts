// The one way the UI talks to the controller: JSON over fetch with the session cookie, the
// CSRF token on every state change, and the API's own error message on failure.
import {signal} from '@preact/signals';
import type {ApiErrorBody, Page, SessionInfo, User} from './types';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string,
              readonly details: unknown[] = []) {
    super(message);
  }
  // The field a validation message names ("settings.maxPlayers: ..."), if any.
  get field(): string | undefined {
    const match = /^([A-Za-z_][\w.[\]]*): /.exec(this.message);
    return match ? fieldPath(match[1]) : undefined;
  }
}

// A field path as the API names it (protobuf's: "settings.max_players") in the JSON names the
// UI uses ("settings.maxPlayers").
export function fieldPath(path: string): string {
  return path.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

// Who is signed in (undefined: not known yet; null: nobody).
export const me = signal<User | null | undefined>(undefined);
let csrfToken = '';
// Set when a request finds the session gone: the app shows the sign-in page and returns.
export const sessionExpired = signal(false);

export function isAdmin(): boolean {
  return me.value?.role === 'admin';
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const headers: Record<string, string> = {Accept: 'application/json'};
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch('/api/v1' + path, {
      method, headers, credentials: 'same-origin', signal: options.signal,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'UNAVAILABLE', 'The controller cannot be reached. Retrying when it is back.');
  }
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body ?? {}) as ApiErrorBody & {details?: unknown[]};
    if (response.status === 401 && !path.startsWith('/session')) {
      sessionExpired.value = true;
    }
    throw new ApiError(response.status, error.code ?? 'UNKNOWN',
                       error.message ?? `${response.status} ${response.statusText}`,
                       error.details ?? []);
  }
  return body as T;
}

// One page of a list route; `key` is the list's field in the answer ("servers", "hosts").
export async function listPage<T>(path: string, key: string, params: Record<string, string | undefined>,
                                  signal?: AbortSignal): Promise<Page<T>> {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
  const answer = await api<Record<string, unknown>>(`${path}?${query}`, {signal});
  return {items: (answer[key] as T[] | undefined) ?? [], nextPageToken: answer.nextPageToken as string | undefined};
}

// Every page of a (short) list: blueprints for a picker, hosts for a filter.
export async function listAll<T>(path: string, key: string, params: Record<string, string> = {}): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const page = await listPage<T>(path, key, {...params, limit: '1000', page_token: token});
    all.push(...page.items);
    token = page.nextPageToken;
  } while (token);
  return all;
}

export async function loadSession(): Promise<User | null> {
  try {
    const info = await api<SessionInfo>('/session');
    csrfToken = info.csrfToken ?? '';
    me.value = info.user ?? null;
    sessionExpired.value = false;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    me.value = null;
  }
  return me.value ?? null;
}

export async function signIn(username: string, password: string): Promise<void> {
  const info = await api<SessionInfo>('/session', {body: {username, password}});
  csrfToken = info.csrfToken ?? '';
  me.value = info.user ?? null;
  sessionExpired.value = false;
}

export async function signOut(): Promise<void> {
  try {
    await api('/session', {method: 'DELETE'});
  } finally {
    csrfToken = '';
    me.value = null;
  }
}
