/**
 * Form pieces of every page: field errors keyed by the API's field paths (`errors[].path` of
 * a problem answer, without its `body.` / `querystring.` / `params.` prefix), so a check made
 * in the browser before sending and the API's answer show in the same place, next to the
 * field; `useSubmit` runs a form's check, call and outcome the same way everywhere.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api.ts';
import './form.css';

/** Field path (condition.threshold, secrets.webhookUrl) → message; '' holds a message for the whole form. */
export type FieldErrors = Record<string, string>;

/** A text message of any error (ApiError: code and detail). */
export function errorText(err: unknown): string {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
}

const fieldPath = (path: string) => path.replace(/^(body|querystring|params)(\.|$)/, '');

/**
 * The field errors of a failed call: each `errors[].path` without its request part; the
 * detail under '' when no field is named. Nothing (no call failed): no errors.
 */
export function errorsOf(err: unknown): FieldErrors {
  if (err === null || err === undefined) return {};
  if (!(err instanceof ApiError)) return { '': String(err) };
  const out: FieldErrors = {};
  for (const e of err.errors) {
    const path = fieldPath(e.path);
    out[path] = out[path] ? `${out[path]}; ${e.message}` : e.message;
  }
  if (Object.keys(out).length === 0 || err.errors.every((e) => fieldPath(e.path) === '')) out[''] = errorText(err);
  return out;
}

/** Errors not shown next to a field of the form (`shown` lists the paths the form has): shown above the buttons. */
export function otherErrors(errors: FieldErrors, shown: string[]): string[] {
  return Object.entries(errors)
    .filter(([path]) => path === '' || !shown.some((s) => path === s || path.startsWith(`${s}.`)))
    .map(([path, msg]) => (path ? `${path}: ${msg}` : msg));
}

/** The messages of `otherErrors`, each a paragraph above the form's buttons. */
export function FormErrors(props: { errors: FieldErrors; shown: string[] }) {
  return <>{otherErrors(props.errors, props.shown).map((m) => <p class="error" role="alert">{m}</p>)}</>;
}

const ownErrors = (errors: FieldErrors, path: string) => Object.entries(errors).filter(([p]) => p !== '' && (p === path || p.startsWith(`${path}.`)));

/** The errors of `path` and of the paths below it, each naming its path in data-error-for. */
export function PathErrors(props: { errors: FieldErrors; path: string }) {
  const own = ownErrors(props.errors, props.path);
  return <>{own.map(([p, m]) => <small class="field-error" role="alert" data-error-for={p}>{m}</small>)}</>;
}

/**
 * A labelled field with its errors under it: those of `path` and of the paths below it
 * (`matchers.0` shows `matchers.0.name`), each naming its path in data-error-for.
 * `class` replaces the look of `field` with an area's own (`mail-field`).
 */
export function Field(props: { label: ComponentChildren; path: string; errors: FieldErrors; hint?: string | undefined; class?: string; children: ComponentChildren }) {
  const own = ownErrors(props.errors, props.path);
  return (
    <label class={`${props.class ?? 'field'}${own.length ? ' invalid' : ''}`} data-field={props.path}>
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint && <small class="hint">{props.hint}</small>}
      <PathErrors errors={props.errors} path={props.path} />
    </label>
  );
}

/** Errors of a field that is not one labelled control (a group of checkboxes), under it. */
export function FieldError({ messages }: { messages: (string | null | undefined)[] }) {
  const shown = messages.filter((m): m is string => !!m);
  if (shown.length === 0) return null;
  return <span class="field-error" role="alert">{shown.join('; ')}</span>;
}

export const inputValue = (e: Event): string => (e.target as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;

export interface Submit {
  busy: boolean;
  errors: FieldErrors;
  setErrors: (e: FieldErrors) => void;
  /** The form's onSubmit. */
  onSubmit: (e: Event) => void;
}

/**
 * A form's sending: on submit, `check` finds what can be found before sending (field path →
 * message; any → nothing is sent); then `send` runs with the form busy; a failure becomes
 * field errors (`problem`, by default `errorsOf`), a success calls `done`. Busy ends when the
 * call does (not after the form is gone).
 */
export function useSubmit<T>(o: { check?: () => FieldErrors; send: () => Promise<T> | T; done?: (result: T) => void; problem?: (err: unknown) => FieldErrors }): Submit {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);
  const onSubmit = (e: Event) => {
    e.preventDefault();
    const found = o.check?.() ?? {};
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    void (async () => {
      try {
        const result = await o.send();
        if (!mounted.current) return;
        setBusy(false);
        o.done?.(result);
      } catch (err) {
        if (!mounted.current) return;
        setBusy(false);
        setErrors((o.problem ?? errorsOf)(err));
      }
    })();
  };
  return { busy, errors, setErrors, onSubmit };
}
