// Small building blocks shared by the pages: alerts, labelled fields, times, tables, copy buttons
// and the confirmation dialog.
import type { ComponentChildren, JSX, TargetedSubmitEvent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { formatRelative, formatTime } from '../format';

/** An API refusal or other failure, announced to screen readers (`role="alert"`). */
export function Alert({ message }: { message: string | undefined }) {
  if (message === undefined) return null;
  return (
    <div role="alert" class="alert">
      {message}
    </div>
  );
}

/** Props of {@link TextField}. */
export interface TextFieldProps {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: 'text' | 'password' | 'search' | 'number' | 'datetime-local';
  required?: boolean;
  placeholder?: string;
  hint?: string;
  autoComplete?: string;
  list?: string;
  pattern?: string;
  min?: number;
  max?: number;
}

/** An input with its `<label for>` and an optional hint (linked by aria-describedby). */
export function TextField(props: TextFieldProps) {
  const hintId = props.hint === undefined ? undefined : `${props.id}-hint`;
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        name={props.id}
        // preact types `type` as a discriminated union that a union-typed prop cannot satisfy.
        type={(props.type ?? 'text') as 'text'}
        value={props.value}
        required={props.required}
        placeholder={props.placeholder}
        autocomplete={props.autoComplete ?? 'off'}
        list={props.list}
        pattern={props.pattern}
        min={props.min}
        max={props.max}
        aria-describedby={hintId}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
      {hintId !== undefined && (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

/** Props of {@link SelectField}. */
export interface SelectFieldProps {
  id: string;
  label: string;
  value: string;
  options: readonly { value: string; label: string }[];
  onChange: (value: string) => void;
}

/** A `<select>` with its `<label for>`. */
export function SelectField(props: SelectFieldProps) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select
        id={props.id}
        name={props.id}
        value={props.value}
        onChange={(e) => props.onChange(e.currentTarget.value)}
      >
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/**
 * A time in UTC with how long ago (or until) it is; the exact time as a tooltip. `past` for
 * times that have happened (never shown as in the future).
 */
export function Time({
  iso,
  now,
  past = false,
}: {
  iso: string | null | undefined;
  now: Date;
  past?: boolean;
}) {
  if (iso === null || iso === undefined) return <span>—</span>;
  return (
    <time dateTime={iso} title={formatTime(iso)}>
      {formatRelative(iso, now, { past })}
    </time>
  );
}

/** A `<td>` holding a {@link Time}. */
export function TimeCell(props: { iso: string | null | undefined; now: Date; past?: boolean }) {
  return (
    <td>
      <Time {...props} />
    </td>
  );
}

/**
 * A scrollable table: `caption`, one header cell per column plus a visually hidden `Actions`
 * one, and `row(item)` for each item (a `<tr>` whose last cell holds the row's buttons).
 */
export function DataTable<T>(props: {
  caption: string;
  columns: ReadonlyArray<string | false>;
  items: readonly T[];
  row: (item: T) => JSX.Element;
}) {
  return (
    <div class="table-wrap">
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            {props.columns
              .filter((c): c is string => c !== false)
              .map((c) => (
                <th key={c} scope="col">
                  {c}
                </th>
              ))}
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>{props.items.map(props.row)}</tbody>
      </table>
    </div>
  );
}

/** A button that copies `text` to the clipboard and says so. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  return (
    <span class="copy">
      <button type="button" onClick={() => void copy()}>
        {label}
      </button>
      <span class="copy-status" aria-live="polite">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text' : ''}
      </span>
    </span>
  );
}

/** Props of {@link ConfirmDialog}. */
export interface ConfirmDialogProps {
  /** Shown (as a modal `<dialog>`) while true. */
  open: boolean;
  title: string;
  /** The confirm button's text (`Revoke`). */
  confirmLabel: string;
  busy?: boolean;
  error?: string | undefined;
  onConfirm: () => void;
  onClose: () => void;
  children?: ComponentChildren;
}

/**
 * A native modal `<dialog>`: focus moves into it, Escape and `Cancel` close it, the confirm
 * button submits.
 */
export function ConfirmDialog(props: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  const submit = (e: TargetedSubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    props.onConfirm();
  };
  return (
    <dialog ref={ref} aria-labelledby="dialog-title" onClose={props.onClose}>
      <form onSubmit={submit}>
        <h2 id="dialog-title">{props.title}</h2>
        {props.children}
        <Alert message={props.error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={props.busy}>
            {props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** A page's heading, focused after navigation so keyboard and screen reader users land on it. */
export function PageTitle({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 id="page-title" ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}
