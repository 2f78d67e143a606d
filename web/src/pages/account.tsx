// One's own account: change the password (every session of the account ends, this one too).
import {useState} from 'preact/hooks';
import {api, me} from '../api/client';
import {ErrorBox, Field, PageHeader, useAction, valueOf} from '../components/ui';

export function AccountPage() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const change = useAction(async () => {
    await api('/session/password', {body: {currentPassword: current, newPassword: next}});
    // The change ends every session: sign in again with the new password.
    me.value = null;
  });
  return (
    <section>
      <PageHeader title="Your account" />
      <p>Signed in as <strong>{me.value?.username}</strong> ({me.value?.role}).</p>
      <form class="editor card" onSubmit={(event) => {
        event.preventDefault();
        if (next !== again) {
          setMismatch(true);
          return;
        }
        setMismatch(false);
        change.go();
      }}>
        <h2>Change password</h2>
        <Field label="Current password" error={change.error?.field === 'currentPassword' ? change.error.message : undefined}>
          <input name="current-password" type="password" autoComplete="current-password" required value={current} onInput={(event) => setCurrent(valueOf(event))} />
        </Field>
        <Field label="New password" hint="At least 12 characters" error={change.error?.field === 'newPassword' ? change.error.message : undefined}>
          <input name="new-password" type="password" autoComplete="new-password" required value={next} onInput={(event) => setNext(valueOf(event))} />
        </Field>
        <Field label="New password again" error={mismatch ? 'The two new passwords differ.' : undefined}>
          <input name="new-password-again" type="password" autoComplete="new-password" required value={again} onInput={(event) => setAgain(valueOf(event))} />
        </Field>
        {change.error && !change.error.field && <ErrorBox error={change.error} />}
        <button type="submit" disabled={change.busy}>Change password</button>
        <p class="muted">Every session of your account ends, this one too: sign in again with the new password.</p>
      </form>
    </section>
  );
}
