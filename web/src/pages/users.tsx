// Users (admins): create, change role, disable, reset a password.
import {useState} from 'preact/hooks';
import {useLocation} from 'preact-iso';
import {api, listPage, me} from '../api/client';
import {useResource} from '../api/resource';
import type {User} from '../api/types';
import {ago} from '../lib/format';
import {ErrorBox, Field, ListView, PageHeader, useAction, valueOf} from '../components/ui';
import {usePaging} from './paging';

export function UsersPage() {
  const {query} = useLocation();
  const paging = usePaging();
  const list = useResource((signal) => listPage<User>('/users', 'users', {q: query.q, limit: '50', page_token: paging.token}, signal),
                           [query.q, paging.token], ['users']);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('operator');
  const create = useAction(async () => {
    await api('/users', {body: {username, password, role}});
    setUsername('');
    setPassword('');
    list.reload();
  });
  const update = useAction(async (user: User, changes: Record<string, unknown>) => {
    await api(`/users/${user.id}`, {method: 'PATCH', body: changes});
    list.reload();
  });
  return (
    <section>
      <PageHeader title="Users" />
      <form class="inline-form card" onSubmit={(event) => {
        event.preventDefault();
        create.go();
      }}>
        <Field label="Username" error={create.error?.field === 'username' ? create.error.message : undefined}>
          <input name="new-username" required value={username} onInput={(event) => setUsername(valueOf(event))} autoComplete="off" />
        </Field>
        <Field label="Password" error={create.error?.field === 'password' ? create.error.message : undefined} hint="At least 12 characters">
          <input name="new-password" type="password" required value={password} onInput={(event) => setPassword(valueOf(event))} autoComplete="new-password" />
        </Field>
        <Field label="Role">
          <select name="role" value={role} onChange={(event) => setRole(valueOf(event))}>
            <option value="operator">operator</option>
            <option value="admin">admin</option>
          </select>
        </Field>
        <button type="submit" disabled={create.busy}>Add user</button>
        {create.error && !create.error.field && <ErrorBox error={create.error} />}
      </form>
      <ListView list={list} what="users" error={list.error ?? update.error} paging={paging}>{(items) => (
        <div class="table-wrap">
          <table>
            <thead><tr><th>User</th><th>Role</th><th>Status</th><th>Since</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>{items.map((user) => (
              <tr>
                <td>{user.username}{user.id === me.value?.id && <span class="tag">you</span>}</td>
                <td>
                  <select aria-label={`Role of ${user.username}`} value={user.role} disabled={user.id === me.value?.id}
                          onChange={(event) => update.go(user, {role: valueOf(event)})}>
                    <option value="operator">operator</option>
                    <option value="admin">admin</option>
                  </select>
                </td>
                <td>{user.disabled ? 'disabled' : 'active'}</td>
                <td>{ago(user.createdAt)}</td>
                <td>{user.id !== me.value?.id && (
                  <button type="button" class="secondary" onClick={() => update.go(user, {disabled: !user.disabled})}>
                    {user.disabled ? 'Enable' : 'Disable'}</button>
                )}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}</ListView>
    </section>
  );
}
