/** An in-app link: keeps the time-range keys of the URL and navigates without a reload. */
import type { ComponentChildren } from 'preact';
import { onLinkClick, withShared } from './router.ts';

export function Link(props: { href: string; class?: string; children: ComponentChildren; title?: string }) {
  const href = withShared(props.href);
  return (
    <a href={href} class={props.class} title={props.title} onClick={(e) => onLinkClick(e, href)}>
      {props.children}
    </a>
  );
}
