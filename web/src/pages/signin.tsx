import {useEffect, useState} from 'preact/hooks';
import {useLocation} from 'preact-iso';
import {signIn} from '../api/client';
import {ErrorBox, Field, useAction, valueOf} from '../components/ui';

// Sign in; afterwards the page that was asked for (the URL did not change) is shown.
export function SignInPage({expired, next}: {expired: boolean; next: string}) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const {route} = useLocation();
  const action = useAction(async () => {
    await signIn(username, password);
    route(next, true);
  });
  useEffect(() => {
    document.title = 'Sign in · left4me';
  }, []);
  return (
    <main class="center">
      <form class="card signin" onSubmit={(event) => {
        event.preventDefault();
        action.go();
      }}>
        <h1>left4me</h1>
        {expired && <p class="notice" role="status">Your session ended. Sign in again to go on where you were.</p>}
        <Field label="Username">
          <input name="username" autoComplete="username" required value={username}
                 onInput={(event) => setUsername(valueOf(event))} autoFocus />
        </Field>
        <Field label="Password">
          <input name="password" type="password" autoComplete="current-password" required value={password}
                 onInput={(event) => setPassword(valueOf(event))} />
        </Field>
        <ErrorBox error={action.error} />
        <button type="submit" disabled={action.busy}>{action.busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
