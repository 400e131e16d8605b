/**
 * A unified diff (the configuration-tracking API's `unifiedDiff`) drawn side by side:
 * old lines on the left, new on the right, removed and added lines marked. Every line is
 * text from a monitored file: rendered as text children only.
 */

export interface DiffRow {
  kind: 'hunk' | 'context' | 'change';
  oldNo: number | null;
  oldText: string | null;
  newNo: number | null;
  newText: string | null;
}

/** The rows of a unified diff: context lines on both sides, a run of removals paired with the additions after it. */
export function sideBySide(unified: string): DiffRow[] {
  const rows: DiffRow[] = [];
  let oldNo = 0;
  let newNo = 0;
  let removed: { no: number; text: string }[] = [];
  let added: { no: number; text: string }[] = [];
  let inHunk = false;
  const flush = () => {
    for (let i = 0; i < Math.max(removed.length, added.length); i++) {
      const r = removed[i];
      const a = added[i];
      rows.push({ kind: 'change', oldNo: r?.no ?? null, oldText: r?.text ?? null, newNo: a?.no ?? null, newText: a?.text ?? null });
    }
    removed = [];
    added = [];
  };
  for (const line of unified.split('\n')) {
    const h = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$/.exec(line);
    if (h) {
      flush();
      inHunk = true;
      oldNo = Number(h[1]);
      newNo = Number(h[2]);
      rows.push({ kind: 'hunk', oldNo: null, oldText: line, newNo: null, newText: null });
      continue;
    }
    if (!inHunk || line.startsWith('\\')) continue;
    if (line.startsWith('-')) {
      if (added.length > 0) flush();
      removed.push({ no: oldNo++, text: line.slice(1) });
    } else if (line.startsWith('+')) {
      added.push({ no: newNo++, text: line.slice(1) });
    } else if (line.startsWith(' ')) {
      flush();
      rows.push({ kind: 'context', oldNo: oldNo++, oldText: line.slice(1), newNo: newNo++, newText: line.slice(1) });
    }
  }
  flush();
  return rows;
}

export function SideBySideDiff({ unified }: { unified: string }) {
  const rows = sideBySide(unified);
  return (
    <div class="diff-wrap">
      <table class="diff" data-diff="side-by-side">
        <colgroup><col class="no" /><col /><col class="no" /><col /></colgroup>
        <tbody>
          {rows.map((r) =>
            r.kind === 'hunk' ? (
              <tr class="hunk"><td colSpan={4}>{r.oldText}</td></tr>
            ) : (
              <tr class={r.kind}>
                <td class="no">{r.oldNo ?? ''}</td>
                <td class={r.kind === 'change' && r.oldText !== null ? 'removed' : ''} data-side="old">{r.oldText ?? ''}</td>
                <td class="no">{r.newNo ?? ''}</td>
                <td class={r.kind === 'change' && r.newText !== null ? 'added' : ''} data-side="new">{r.newText ?? ''}</td>
              </tr>
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}
