/** Log in, and the password change a user must make first (the first admin). */
import { useState } from 'preact/hooks';
import { ApiError, changePassword, login, logout, type User } from '../api.ts';
import { useSubmit, type FieldErrors } from '../components/form.tsx';

/** The form's message for a refused login or password change ('' : the whole form). */
function messageOf(err: unknown): FieldErrors {
  if (err instanceof ApiError) {
    if (err.code === 'INVALID_CREDENTIALS') return { '': 'Wrong username or password.' };
    if (err.code === 'RATE_LIMITED') return { '': 'Too many failed attempts; wait a moment and try again.' };
    if (err.code === 'INVALID_CURRENT_PASSWORD') return { '': 'The current password is not right.' };
    return { '': err.message };
  }
  return { '': 'The server could not be reached.' };
}

export function LoginPage(props: { reason?: string }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  // Signed in: the page of the URL (the one the user was on) renders.
  const form = useSubmit({ send: () => login(username, password), problem: messageOf });
  const error = form.errors[''];
  return (
    <div class="center">
      <form class="card login" onSubmit={form.onSubmit}>
        <h1>Opsdeck</h1>
        {props.reason && <p class="notice">{props.reason}</p>}
        <label>Username<input name="username" autocomplete="username" required value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} /></label>
        <label>Password<input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} /></label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" disabled={form.busy}>Log in</button>
      </form>
    </div>
  );
}

export function PasswordPage(props: { user: User; forced?: boolean }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const form = useSubmit({
    check: (): FieldErrors => (next !== again ? { '': 'The two new passwords differ.' } : {}),
    send: () => changePassword(current, next),
    problem: messageOf,
  });
  const error = form.errors[''];
  return (
    <div class="center">
      <form class="card login" onSubmit={form.onSubmit}>
        <h1>Choose a new password</h1>
        {props.forced && <p class="notice">{props.user.username}, your password was set for you: choose your own before going on.</p>}
        <label>Current password<input name="currentPassword" type="password" autocomplete="current-password" required value={current} onInput={(e) => setCurrent((e.target as HTMLInputElement).value)} /></label>
        <label>New password<input name="newPassword" type="password" autocomplete="new-password" minLength={12} required value={next} onInput={(e) => setNext((e.target as HTMLInputElement).value)} /></label>
        <label>New password again<input name="newPasswordAgain" type="password" autocomplete="new-password" minLength={12} required value={again} onInput={(e) => setAgain((e.target as HTMLInputElement).value)} /></label>
        <p class="hint">At least 12 characters, not containing your username, not a common password.</p>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" disabled={form.busy}>Change password</button>
        <button type="button" class="link" onClick={() => void logout()}>Log out</button>
      </form>
    </div>
  );
}
