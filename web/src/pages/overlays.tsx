// Overlays: the list, and one overlay's source (uploaded files, Workshop items, an archive by
// URL and SHA-256, or a script) saved as a new revision, synced to every ready host with each
// host's job followed live.
import {useEffect, useState} from 'preact/hooks';
import {useLocation, useRoute} from 'preact-iso';
import {api, isAdmin, listPage} from '../api/client';
import {useJobStream} from '../api/jobs';
import {useResource} from '../api/resource';
import type {JobRefs, Overlay, OverlaySource} from '../api/types';
import {ago, bytes} from '../lib/format';
import {Badge, Confirm, ErrorBox, Field, ListView, Loading, PageHeader, Progress, useAction, valueOf} from '../components/ui';
import {usePaging} from './paging';

export function OverlaysPage() {
  const {query} = useLocation();
  const paging = usePaging();
  const list = useResource((signal) => listPage<Overlay>('/overlays', 'overlays', {q: query.q, limit: '50', page_token: paging.token}, signal),
                           [query.q, paging.token], ['overlays']);
  return (
    <section>
      <PageHeader title="Overlays"><a class="button" href="/overlays/new">New overlay</a></PageHeader>
      <p class="muted">An overlay is a layer of files (maps, plugins, configs) laid over the game for the servers whose blueprint names it.</p>
      <ListView list={list} what="overlays" empty="No overlays yet." paging={paging}>{(items) => (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Ref</th><th>Source</th><th>Revision</th><th>Scope</th><th>Changed</th></tr></thead>
            <tbody>{items.map((overlay) => (
              <tr>
                <td><a href={`/overlays/${overlay.id}`}>{overlay.ref}</a></td>
                <td>{sourceKind(overlay.source)}</td>
                <td>{overlay.revision ?? 0}</td>
                <td>{overlay.global ? 'global' : 'own'}</td>
                <td>{ago(overlay.updatedAt)}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}</ListView>
    </section>
  );
}

type Kind = 'files' | 'workshop' | 'archive' | 'script';

function sourceKind(source: OverlaySource | undefined): string {
  if (source?.workshop) return 'Workshop';
  if (source?.archive) return 'archive';
  if (source?.script) return 'script';
  if (source?.inlineFiles) {
    const count = source.inlineFiles.files?.length ?? 0;
    return `${count} ${count === 1 ? 'file' : 'files'}`;
  }
  return 'empty';
}

// File bytes as protobuf JSON wants them: standard base64.
async function base64(file: File): Promise<string> {
  const data = new Uint8Array(await file.arrayBuffer());
  let text = '';
  for (let i = 0; i < data.length; i += 0x8000) text += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(text);
}

export function OverlayPage() {
  const {params} = useRoute();
  const {route} = useLocation();
  const isNew = params.id === 'new';
  const loaded = useResource((signal) => isNew ? Promise.resolve(undefined) : api<Overlay>(`/overlays/${params.id}`, {signal}), [params.id], ['overlays']);
  const [ref, setRef] = useState('');
  const [global, setGlobal] = useState(false);
  const [kind, setKind] = useState<Kind>('files');
  const [files, setFiles] = useState<{path: string; file: File}[]>([]);
  const [prefix, setPrefix] = useState('left4dead2/addons');
  const [workshop, setWorkshop] = useState('');
  const [url, setUrl] = useState('');
  const [sha256, setSha256] = useState('');
  const [destination, setDestination] = useState('');
  const [script, setScript] = useState('');
  const [syncJobs, setSyncJobs] = useState<string[]>([]);
  const [confirmDelete, setConfirmDelete] = useState(false);
  useEffect(() => {
    const source = loaded.data?.source;
    if (!source) return;
    if (source.workshop) {
      setKind('workshop');
      setWorkshop([...(source.workshop.itemIds ?? [])].join(', '));
    } else if (source.archive) {
      setKind('archive');
      setUrl(source.archive.url ?? '');
      setSha256(source.archive.sha256 ?? '');
      setDestination(source.archive.destination ?? '');
    } else if (source.script) {
      setKind('script');
      setScript(source.script.source ?? '');
    }
  }, [loaded.data]);
  const buildSource = async (): Promise<OverlaySource> => {
    switch (kind) {
      case 'workshop':
        return {workshop: {itemIds: workshop.split(/[\s,]+/).filter(Boolean)}};
      case 'archive':
        return {archive: {url, sha256: sha256.trim().toLowerCase(), destination: destination || undefined}};
      case 'script':
        return {script: {source: script}};
      default:
        return {inlineFiles: {files: await Promise.all(files.map(async ({path, file}) => ({path, content: await base64(file)})))}};
    }
  };
  const save = useAction(async () => {
    const source = await buildSource();
    if (isNew) {
      const created = await api<Overlay>('/overlays', {body: {ref, global: global || undefined, source}});
      route(`/overlays/${created.id}`, true);
    } else {
      await api<Overlay>(`/overlays/${params.id}`, {method: 'PUT', body: {source}});
      loaded.reload();
    }
  });
  const sync = useAction(async () => {
    const refs = await api<JobRefs>(`/overlays/${params.id}/sync`, {body: {}});
    setSyncJobs(refs.jobIds ?? []);
  });
  const remove = useAction(async () => {
    await api(`/overlays/${params.id}`, {method: 'DELETE'});
    route('/overlays');
  });
  if (!isNew && !loaded.data) {
    return <section><PageHeader title="Overlay" /><ErrorBox error={loaded.error} />{!loaded.error && <Loading what="the overlay" />}</section>;
  }
  const o = loaded.data;
  const fieldError = (name: string) => save.error?.field?.startsWith(name) ? save.error.message : undefined;
  return (
    <section>
      <PageHeader title={isNew ? 'New overlay' : `Overlay ${o?.ref}`}>
        {!isNew && <button type="button" onClick={() => sync.go()} disabled={sync.busy}>Sync to hosts</button>}
        {!isNew && <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>Delete</button>}
      </PageHeader>
      <ErrorBox error={sync.error ?? remove.error} />
      {o && <p class="muted">Revision {o.revision ?? 0}, {sourceKind(o.source)}, changed {ago(o.updatedAt)}{o.global ? ', global' : ''}.</p>}
      {syncJobs.length > 0 && (
        <div class="card" aria-live="polite">
          <h2>Syncing</h2>
          {/* A stream per followed job (a user holds at most 16): the first few hosts live. */}
          {syncJobs.slice(0, 5).map((job) => <SyncProgress jobId={job} />)}
          {syncJobs.length > 5 && <p><a href="/jobs?kind=overlay.sync">{syncJobs.length - 5} more hosts' jobs</a></p>}
        </div>
      )}
      <form class="editor" onSubmit={(event) => {
        event.preventDefault();
        save.go();
      }}>
        {isNew && (
          <fieldset>
            <legend>Overlay</legend>
            <Field label="Ref" error={fieldError('ref')} hint="Lower-case words and digits, e.g. maps or competitive-cfg">
              <input name="ref" required value={ref} onInput={(event) => setRef(valueOf(event))} />
            </Field>
            {isAdmin() && <label class="check"><input type="checkbox" checked={global} onChange={(event) => setGlobal(event.currentTarget.checked)} /> Global (every operator may use it)</label>}
          </fieldset>
        )}
        <fieldset>
          <legend>Source</legend>
          <div class="segmented" role="radiogroup" aria-label="Source">
            {(['files', 'workshop', 'archive', 'script'] as Kind[]).map((one) => (
              <label class="check"><input type="radio" name="kind" checked={kind === one} onChange={() => setKind(one)} /> {one}</label>
            ))}
          </div>
          {kind === 'files' && (
            <>
              <Field label="Folder in the game" hint="Where the files go, e.g. left4dead2/addons or left4dead2/cfg">
                <input name="prefix" value={prefix} onInput={(event) => setPrefix(valueOf(event))} />
              </Field>
              <Field label="Files" error={fieldError('source')}>
                <input type="file" multiple name="files" onChange={(event) => {
                  const chosen = [...(event.currentTarget.files ?? [])];
                  setFiles(chosen.map((file) => ({file, path: `${prefix.replace(/\/+$/, '')}/${file.name}`.replace(/^\/+/, '')})));
                }} />
              </Field>
              {files.length > 0 && <ul>{files.map(({path, file}) => <li><code>{path}</code> ({bytes(file.size)})</li>)}</ul>}
              {!isNew && o?.source?.inlineFiles && <p class="muted">Now: {(o.source.inlineFiles.files ?? []).map((file) => file.path).join(', ') || 'no files'}. Saving replaces them.</p>}
            </>
          )}
          {kind === 'workshop' && (
            <Field label="Workshop item ids" error={fieldError('source')} hint="Comma or space separated, e.g. 123456789, 987654321">
              <input name="workshop" value={workshop} onInput={(event) => setWorkshop(valueOf(event))} />
            </Field>
          )}
          {kind === 'archive' && (
            <>
              <Field label="Archive URL (.tar.gz or .zip)" error={fieldError('source.archive.url')}>
                <input name="url" type="url" value={url} onInput={(event) => setUrl(valueOf(event))} />
              </Field>
              <Field label="SHA-256 of the archive" error={fieldError('source.archive.sha256')}>
                <input name="sha256" value={sha256} onInput={(event) => setSha256(valueOf(event))} />
              </Field>
              <Field label="Extract into" hint="Empty: the layer's root">
                <input name="destination" value={destination} onInput={(event) => setDestination(valueOf(event))} />
              </Field>
            </>
          )}
          {kind === 'script' && (
            <Field label="Script (runs in a sandbox, writes the layer)" error={fieldError('source.script')}>
              <textarea name="script" rows={10} spellcheck={false} value={script} onInput={(event) => setScript(valueOf(event))} />
            </Field>
          )}
        </fieldset>
        <ErrorBox error={save.error && !save.error.field ? save.error : save.error?.field && !['ref', 'source'].some((name) => save.error!.field!.startsWith(name)) ? save.error : undefined} />
        <button type="submit" disabled={save.busy}>{isNew ? 'Create overlay' : 'Save as a new revision'}</button>
      </form>
      <Confirm open={confirmDelete} title={`Delete overlay ${o?.ref}?`} action="Delete overlay"
               onCancel={() => setConfirmDelete(false)} onConfirm={() => {
                 setConfirmDelete(false);
                 remove.go();
               }}>
        <p>An overlay that a blueprint uses cannot be deleted.</p>
      </Confirm>
    </section>
  );
}

function SyncProgress({jobId}: {jobId: string}) {
  const follow = useJobStream(jobId);
  return (
    <div class="sync">
      <a href={`/jobs/${jobId}`}>{jobId}</a>
      <Progress percent={follow.done && follow.job?.state === 'succeeded' ? 100 : follow.progress?.percent} label={follow.progress?.phase ?? 'queued'} />
      {follow.done && <Badge state={follow.job?.state} />}
      {follow.job?.error?.message && <span class="error">{follow.job.error.message}</span>}
    </div>
  );
}
