// The fleet's event stream (/api/v1/events), followed once for the whole app: audit entries
// mark the kinds of objects they touch as changed (pages holding those reload what they show),
// `server` events carry a server whose state, map or players changed (patched in place), player
// events mark the players as changed. After
// a reconnect everything shown is reloaded once and the audit log resumes where it stopped.
import {signal, type Signal} from '@preact/signals';
import {ResumePoint, reconnectDelay} from '../lib/resume';
import {loadSession, sessionExpired} from './client';
import type {AuditEntry, Server} from './types';

export type Kind = 'servers' | 'hosts' | 'jobs' | 'blueprints' | 'overlays' | 'users' | 'tokens' | 'audit' | 'players';
const kinds: Kind[] = ['servers', 'hosts', 'jobs', 'blueprints', 'overlays', 'users', 'tokens', 'audit', 'players'];

// A counter per kind; reading one subscribes a component to its changes.
export const changes = Object.fromEntries(kinds.map((kind) => [kind, signal(0)])) as Record<Kind, Signal<number>>;
export const connected = signal(false);
// The newest audit entries seen live (for the dashboard), newest first.
export const recentAudit = signal<AuditEntry[]>([]);
// Servers changed by a live `server` event, by id (pages overlay these on what they loaded).
export const liveServers = signal<ReadonlyMap<string, Server>>(new Map());

type AuditListener = (entry: AuditEntry) => void;
const auditListeners = new Set<AuditListener>();
export function onAudit(listener: AuditListener): () => void {
  auditListeners.add(listener);
  return () => auditListeners.delete(listener);
}

// Which kinds an audit action ("server.start", "overlay.sync", ...) changes.
export function kindsOf(action: string): Kind[] {
  const subject = action.split('.')[0];
  const touched: Kind[] = ['audit'];
  switch (subject) {
    case 'server': touched.push('servers', 'jobs', 'hosts'); break;
    case 'host': touched.push('hosts', 'jobs'); break;
    case 'update': case 'updates': touched.push('hosts', 'jobs'); break;
    case 'blueprint': touched.push('blueprints'); break;
    case 'overlay': touched.push('overlays', 'jobs'); break;
    case 'user': case 'session': touched.push('users'); break;
    case 'token': touched.push('tokens'); break;
    case 'job': touched.push('jobs', 'servers'); break;
    default: touched.push('jobs');
  }
  return touched;
}

function bump(list: Kind[]) {
  for (const kind of list) changes[kind].value++;
}

const resume = new ResumePoint();
let source: EventSource | undefined;
let attempt = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let wasConnected = false;

export function startLive() {
  if (source) return;
  open();
}

export function stopLive() {
  clearTimeout(timer);
  source?.close();
  source = undefined;
  connected.value = false;
  wasConnected = false;
}

function open() {
  const stream = new EventSource(resume.url('/api/v1/events'));
  source = stream;
  stream.onopen = () => {
    attempt = 0;
    connected.value = true;
    // Anything may have changed while the stream was down: reload what is shown, once.
    if (wasConnected) bump(kinds);
    wasConnected = true;
  };
  stream.addEventListener('audit', (event) => {
    const message = event as MessageEvent<string>;
    if (!resume.accept(message.lastEventId)) return;
    const entry = JSON.parse(message.data) as AuditEntry;
    recentAudit.value = [entry, ...recentAudit.value].slice(0, 50);
    for (const listener of auditListeners) listener(entry);
    bump(kindsOf(entry.action ?? ''));
  });
  stream.addEventListener('server', (event) => {
    const server = JSON.parse((event as MessageEvent<string>).data) as Server;
    if (!server.id) return;
    const next = new Map(liveServers.value);
    next.set(server.id, server);
    liveServers.value = next;
  });
  // A player joined or left, a map changed, Steam asked for a restart: pages showing players
  // and timelines reload (the events are not replayed: a reconnect reloads everything).
  for (const type of ['player_joined', 'player_left', 'map_changed', 'update_required']) {
    stream.addEventListener(type, () => bump(['players']));
  }
  stream.addEventListener('end', () => reopenLater(true));
  stream.addEventListener('overflow', () => reopenLater(false));
  stream.onerror = () => {
    connected.value = false;
    // CONNECTING: the browser retries by itself (with Last-Event-ID). CLOSED: the controller
    // answered with an error (a restart's 503, a 401): open a new stream ourselves.
    if (stream.readyState === EventSource.CLOSED) reopenLater(true);
  };
}

function reopenLater(checkSession: boolean) {
  source?.close();
  source = undefined;
  connected.value = false;
  clearTimeout(timer);
  timer = setTimeout(async () => {
    if (checkSession) {
      try {
        if (!(await loadSession())) {
          sessionExpired.value = true;
          return;
        }
      } catch {
        // The controller is still down: try again later.
        attempt++;
        reopenLater(true);
        return;
      }
    }
    open();
  }, reconnectDelay(attempt++));
}
