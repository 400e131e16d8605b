/**
 * Form pieces of the operations pages: field errors keyed by the API's field paths
 * (`errors[].path` of a problem answer, without its `body.` prefix), so a check made in
 * the browser before sending and the API's answer show in the same place, next to the field.
 */
import type { ComponentChildren } from 'preact';
import { ApiError } from '../../api.ts';
import './ops.css';

/** Field path (condition.threshold, secrets.webhookUrl) → message; '' holds a message for the whole form. */
export type FieldErrors = Record<string, string>;

/** The field errors of a failed call: each `errors[].path` without `body.`; the detail under '' when no field is named. */
export function errorsOf(err: unknown): FieldErrors {
  if (!(err instanceof ApiError)) return { '': String(err) };
  const out: FieldErrors = {};
  for (const e of err.errors) {
    const path = e.path.replace(/^body\.?/, '');
    out[path] = out[path] ? `${out[path]}; ${e.message}` : e.message;
  }
  if (Object.keys(out).length === 0 || err.errors.every((e) => e.path.replace(/^body\.?/, '') === '')) out[''] = `${err.code}: ${err.message}`;
  return out;
}

/** Errors not shown next to a field of the form (`shown` lists the paths the form has): shown above the buttons. */
export function otherErrors(errors: FieldErrors, shown: string[]): string[] {
  return Object.entries(errors)
    .filter(([path]) => path === '' || !shown.some((s) => path === s || path.startsWith(`${s}.`)))
    .map(([path, msg]) => (path ? `${path}: ${msg}` : msg));
}

/** A labelled field with its error under it (the error names the field path in data-error-for). */
export function Field(props: { label: string; path: string; errors: FieldErrors; hint?: string; children: ComponentChildren }) {
  const own = Object.entries(props.errors).filter(([p]) => p === props.path || p.startsWith(`${props.path}.`));
  return (
    <label class={`field${own.length ? ' invalid' : ''}`} data-field={props.path}>
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint && <small class="hint">{props.hint}</small>}
      {own.map(([p, m]) => (
        <small class="field-error" role="alert" data-error-for={p}>{m}</small>
      ))}
    </label>
  );
}

/** `a=b` lines (or comma-separated) → a record; null when a line is not `name=value`. */
export function parsePairs(text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const raw of text.split(/[\n,]/)) {
    const line = raw.trim();
    if (!line) continue;
    const i = line.indexOf('=');
    if (i <= 0) return null;
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function pairsText(r: Record<string, string> | undefined): string {
  return Object.entries(r ?? {}).map(([k, v]) => `${k}=${v}`).join('\n');
}

export function listOf(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export const inputValue = (e: Event): string => (e.target as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;
