/** The list table of the pages: a header row and one row per item, scrolling sideways inside its box on a narrow screen. */
import type { ComponentChildren } from 'preact';

export function Table<T>(props: { items: readonly T[]; head: ComponentChildren; row: (item: T, index: number) => ComponentChildren; name?: string; class?: string; caption?: string; empty?: ComponentChildren; after?: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table class={props.class ? `table ${props.class}` : 'table'} data-table={props.name}>
        {props.caption && <caption>{props.caption}</caption>}
        <thead><tr>{props.head}</tr></thead>
        <tbody>
          {props.items.length === 0 && props.empty}
          {props.items.map(props.row)}
        </tbody>
      </table>
      {props.after}
    </div>
  );
}
