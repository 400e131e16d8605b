/** The Opsdeck web dashboard: session gate, shell and the page of the URL. */
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import './styles.css';
import { resume, session } from './api.ts';
import { useLocation } from './router.ts';
import { useStore } from './store.ts';
import { LoginPage, PasswordPage } from './pages/login.tsx';
import { match } from './pages/index.ts';
import { Shell } from './shell.tsx';
import { timeViewOf } from './time.ts';
import { tick } from './data.ts';

function App() {
  const s = useStore(session);
  const loc = useLocation();
  useStore(tick);
  useEffect(() => void resume(), []);
  const m = match(loc.path);
  const title = s.state === 'signed-in' && !s.user.mustChangePassword ? (m?.page.title ?? 'Not found') : 'Log in';
  useEffect(() => {
    document.title = `${title} · Opsdeck`;
  }, [title]);
  if (s.state === 'starting') return <div class="splash">Opsdeck…</div>;
  if (s.state === 'anonymous') return <LoginPage {...(s.reason ? { reason: s.reason } : {})} />;
  if (s.user.mustChangePassword) return <PasswordPage user={s.user} forced />;
  // A preset range ends "now": recomputed on every render (each refresh tick renders).
  const time = timeViewOf(loc);
  const Page = m?.page.component;
  return (
    <Shell user={s.user} time={time} current={m?.page.path ?? null}>
      {Page && m ? <Page user={s.user} time={time} params={m.params} query={loc.query} /> : <section><h1>Not found</h1><p>No dashboard page at {loc.path}.</p></section>}
    </Shell>
  );
}

render(<App />, document.getElementById('app')!);
