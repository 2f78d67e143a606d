// API tokens: create (the secret shown once, with a copy button), list, revoke.
import {useState} from 'preact/hooks';
import {api, listPage} from '../api/client';
import {useResource} from '../api/resource';
import type {ApiToken, CreateApiTokenResponse} from '../api/types';
import {ago} from '../lib/format';
import {Confirm, ErrorBox, Field, ListView, PageHeader, Secret, useAction, valueOf} from '../components/ui';
import {usePaging} from './paging';

export function TokensPage() {
  const paging = usePaging();
  const list = useResource((signal) => listPage<ApiToken>('/tokens', 'tokens', {limit: '50', page_token: paging.token}, signal),
                           [paging.token], ['tokens']);
  const [name, setName] = useState('');
  const [scope, setScope] = useState('read');
  const [secret, setSecret] = useState<string>();
  const [revoking, setRevoking] = useState<ApiToken>();
  const create = useAction(async () => {
    const answer = await api<CreateApiTokenResponse>('/tokens', {body: {name, scopes: [scope]}});
    setSecret(answer.secret);
    setName('');
    list.reload();
  });
  const revoke = useAction(async (token: ApiToken) => {
    await api(`/tokens/${token.id}`, {method: 'DELETE'});
    list.reload();
  });
  return (
    <section>
      <PageHeader title="API tokens" />
      <p class="muted">For l4d2ctl, CI and scripts: <code>Authorization: Bearer &lt;secret&gt;</code>.</p>
      <form class="inline-form card" onSubmit={(event) => {
        event.preventDefault();
        create.go();
      }}>
        <Field label="Name" error={create.error?.field === 'name' ? create.error.message : undefined}>
          <input name="token-name" required value={name} onInput={(event) => setName(valueOf(event))} placeholder="ci" />
        </Field>
        <Field label="Scope">
          <select name="scope" value={scope} onChange={(event) => setScope(valueOf(event))}>
            <option value="read">read (GET only)</option>
            <option value="write">write</option>
          </select>
        </Field>
        <button type="submit" disabled={create.busy}>Create token</button>
        {create.error && create.error.field !== 'name' && <ErrorBox error={create.error} />}
      </form>
      {secret && (
        <div class="card" role="status">
          <p><strong>The token's secret, shown this once.</strong> Copy it now: it is kept only hashed.</p>
          <Secret text={secret} />
          <button type="button" class="secondary" onClick={() => setSecret(undefined)}>Done</button>
        </div>
      )}
      <ListView list={list} what="tokens" error={list.error ?? revoke.error} empty="No API tokens yet. Create one above for l4d2ctl or CI; its secret is shown once." paging={paging}>{(items) => (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>Scopes</th><th>Created</th><th>Last used</th><th>Status</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>{items.map((token) => (
              <tr>
                <td>{token.name}</td>
                <td>{(token.scopes ?? []).join(', ')}</td>
                <td>{ago(token.createdAt)}</td>
                <td>{ago(token.lastUsedAt)}</td>
                <td>{token.revokedAt ? `revoked ${ago(token.revokedAt)}` : 'active'}</td>
                <td>{!token.revokedAt && <button type="button" class="danger" onClick={() => setRevoking(token)}>Revoke</button>}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}</ListView>
      <Confirm open={!!revoking} title={`Revoke token ${revoking?.name}?`} action="Revoke"
               onCancel={() => setRevoking(undefined)} onConfirm={() => {
                 const token = revoking!;
                 setRevoking(undefined);
                 revoke.go(token);
               }}>
        <p>Every script using it is refused from now on, and its open event streams end.</p>
      </Confirm>
    </section>
  );
}
