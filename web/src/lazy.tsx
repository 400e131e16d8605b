/**
 * Pages loaded on demand: an area's pages (mail, alerting set-up, home lab, agents) are
 * a chunk of their own that the browser fetches when one of them is first shown. While it
 * loads the page says so; if it cannot be loaded — typically a tab opened before Opsdeck
 * was restarted with new code, asking for a chunk name that no longer exists — it says
 * to reload (the new index.html names the new chunks).
 */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { PageProps } from './pages/index.ts';

type Module = Record<string, ComponentType<PageProps>>;

export interface Chunk {
  (): Promise<Module>;
  /** The module once loaded (its pages then show without a loading state). */
  loaded: Module | null;
}

/** One chunk, imported once; every page of it shares the promise. */
export function chunk(load: () => Promise<unknown>): Chunk {
  let p: Promise<Module> | null = null;
  const get = (() => {
    p ??= (load() as Promise<Module>).then(
      (m) => (get.loaded = m),
      (err: unknown) => {
        p = null; // a later visit tries again
        throw err;
      },
    );
    return p;
  }) as Chunk;
  get.loaded = null;
  return get;
}

/** A page component of a chunk: a loading state, then the page, or the reload message. */
export function lazyPage(load: Chunk, name: string): ComponentType<PageProps> {
  function LazyPage(props: PageProps) {
    const [state, setState] = useState<{ page: ComponentType<PageProps> | null; failed: boolean }>({ page: load.loaded?.[name] ?? null, failed: false });
    useEffect(() => {
      if (state.page) return;
      let live = true;
      load().then(
        (m) => {
          const page = m[name];
          if (live) setState({ page: page ?? null, failed: !page });
        },
        () => live && setState({ page: null, failed: true }),
      );
      return () => {
        live = false;
      };
    }, []);
    const Page = state.page;
    if (Page) return <Page {...props} />;
    if (state.failed) {
      return (
        <section class="page chunk-failed" role="alert">
          <h1>Page not loaded</h1>
          <p>Opsdeck was updated — reload to get the new version of the dashboard.</p>
          <button type="button" class="primary" data-action="reload" onClick={() => window.location.reload()}>Reload</button>
        </section>
      );
    }
    return <section class="page chunk-loading" aria-busy="true"><p class="splash">Loading…</p></section>;
  }
  return LazyPage;
}
