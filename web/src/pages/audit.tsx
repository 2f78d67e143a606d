// The audit log, newest first, with filters kept in the URL; follows the live stream.
import {useState} from 'preact/hooks';
import {useLocation} from 'preact-iso';
import {isAdmin, listAll, listPage, me} from '../api/client';
import {useResource} from '../api/resource';
import type {AuditEntry, User} from '../api/types';
import {ago, dateTime} from '../lib/format';
import {Empty, Field, ListView, PageHeader, valueOf} from '../components/ui';
import {usePaging} from './paging';

export function AuditPage() {
  const {query} = useLocation();
  const paging = usePaging();
  const filters = {actor: query.actor, action: query.action, target: query.target};
  const list = useResource((signal) => listPage<AuditEntry>('/audit', 'entries', {...filters, limit: '50', page_token: paging.token}, signal),
                           [JSON.stringify(filters), paging.token], ['audit']);
  const [draft, setDraft] = useState(filters);
  return (
    <section>
      <PageHeader title="Audit log" />
      <form class="filters" role="search" onSubmit={(event) => {
        event.preventDefault();
        paging.filter(draft);
      }}>
        <Field label="Actor" hint="user:<id>, token:<id> or system">
          <input name="actor" value={draft.actor ?? ''} onInput={(event) => setDraft({...draft, actor: valueOf(event)})} />
        </Field>
        <Field label="Action starts with" hint="e.g. server. or host.install">
          <input name="action" value={draft.action ?? ''} onInput={(event) => setDraft({...draft, action: valueOf(event)})} />
        </Field>
        <Field label="Target id">
          <input name="target" value={draft.target ?? ''} onInput={(event) => setDraft({...draft, target: valueOf(event)})} />
        </Field>
        <button type="submit" class="secondary">Filter</button>
      </form>
      <ListView list={list} what="the audit log" paging={paging}>{(items) => <AuditRows entries={items} />}</ListView>
    </section>
  );
}

// "user:<id>" as the user's name where it is known (oneself; every user for admins).
export function useActorNames(): (actor: string | undefined) => string {
  const users = useResource(() => isAdmin() ? listAll<User>('/users', 'users') : Promise.resolve([] as User[]), [], ['users']);
  return (actor) => {
    if (!actor?.startsWith('user:')) return actor ?? '';
    const id = actor.slice(5);
    if (id === me.value?.id) return me.value.username ?? actor;
    return users.data?.find((user) => user.id === id)?.username ?? actor;
  };
}

export function AuditRows({entries}: {entries: AuditEntry[]}) {
  const name = useActorNames();
  if (!entries.length) return <Empty>Nothing recorded yet.</Empty>;
  return (
    // Scrolls sideways on narrow screens: reachable by keyboard, named for screen readers.
    <div class="table-wrap" tabIndex={0} role="region" aria-label="Audit entries">
      <table class="audit">
        <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th><th>Detail</th></tr></thead>
        <tbody>{entries.map((entry) => (
          <tr key={entry.id}>
            <td title={dateTime(entry.at)}>{ago(entry.at)}</td>
            <td title={entry.actor}>{name(entry.actor)}</td>
            <td>{entry.action}</td>
            <td><code>{entry.target}</code></td>
            <td class="detail">{entry.detail ? Object.entries(entry.detail).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' ') : ''}</td>
          </tr>
        ))}</tbody>
      </table>
    </div>
  );
}
