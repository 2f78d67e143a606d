// Small building blocks every page uses.
import type {ComponentChildren, JSX} from 'preact';
import {useEffect, useRef, useState} from 'preact/hooks';
import {ApiError} from '../api/client';
import {stateLabel, tone} from '../lib/format';

export function Badge({state}: {state: string | undefined}) {
  return <span class={`badge ${tone(state)}`}>{stateLabel(state)}</span>;
}

export function ErrorBox({error}: {error: ApiError | Error | undefined | null}) {
  if (!error) return null;
  return <p class="error" role="alert">{error.message}</p>;
}

export function Loading({what}: {what: string}) {
  return <p class="muted" aria-live="polite">Loading {what}…</p>;
}

export function Empty({children}: {children: ComponentChildren}) {
  return <div class="empty">{children}</div>;
}

export function PageHeader({title, children}: {title: string; children?: ComponentChildren}) {
  useEffect(() => {
    document.title = `${title} · left4me`;
  }, [title]);
  return (
    <header class="page-header">
      <h1>{title}</h1>
      <div class="actions">{children}</div>
    </header>
  );
}

export function Progress({percent, label}: {percent: number | undefined; label: string}) {
  const known = percent !== undefined && percent >= 0;
  const value = known ? Math.max(0, Math.min(100, percent)) : undefined;
  return (
    <div class="progress">
      <progress max={100} value={value} aria-label={label} />
      <span>{known ? `${Math.round(value!)}%` : label}</span>
    </div>
  );
}

// A labelled form field with the API's message for it beside it.
export function Field({label, error, hint, children}: {label: string; error?: string; hint?: string;
                                                         children: ComponentChildren}) {
  return (
    <label class={`field${error ? ' invalid' : ''}`}>
      <span class="label">{label}</span>
      {children}
      {hint && !error && <span class="hint">{hint}</span>}
      {error && <span class="field-error" role="alert">{error}</span>}
    </label>
  );
}

export function CopyButton({text, label = 'Copy'}: {text: string; label?: string}) {
  const [done, setDone] = useState(false);
  return (
    <button type="button" class="secondary" onClick={async () => {
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        // Clipboard refused (insecure origin): select the text for a manual copy instead.
        const range = document.createRange();
        const node = document.querySelector(`[data-copy="${CSS.escape(text)}"]`);
        if (node) {
          range.selectNodeContents(node);
          getSelection()?.removeAllRanges();
          getSelection()?.addRange(range);
        }
      }
      setDone(true);
      setTimeout(() => setDone(false), 1500);
    }}>{done ? 'Copied' : label}</button>
  );
}

export function Secret({text}: {text: string}) {
  return (
    <div class="secret">
      <code data-copy={text}>{text}</code>
      <CopyButton text={text} />
    </div>
  );
}

// A confirmation in a modal <dialog> (focus kept inside, Escape cancels).
export function Confirm({open, title, children, action, danger = true, onConfirm, onCancel}: {
  open: boolean; title: string; children: ComponentChildren; action: string; danger?: boolean;
  onConfirm: () => void; onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={(event) => {
      event.preventDefault();
      onCancel();
    }}>
      <h2 id="confirm-title">{title}</h2>
      <div>{children}</div>
      <div class="actions">
        <button type="button" class="secondary" onClick={onCancel}>Cancel</button>
        <button type="button" class={danger ? 'danger' : ''} onClick={onConfirm}>{action}</button>
      </div>
    </dialog>
  );
}

// Runs an action (a request) with busy state and its error kept for display.
export function useAction<A extends unknown[]>(run: (...args: A) => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const go = async (...args: A) => {
    setBusy(true);
    setError(undefined);
    try {
      await run(...args);
      return true;
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, 'UNKNOWN', String(caught)));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return {busy, error, go, clear: () => setError(undefined)};
}

// A page of a list as every list page shows it: the error, "Loading …" until the first page
// arrives, `empty` for a page without rows (when given; else the rows' view shows it, e.g. a
// table's header), the rows through `children`, and the pager.
export function ListView<T>({list, what, empty, error, paging, children}: {
  list: {data?: {items: T[]; nextPageToken?: string}; error?: ApiError};
  what: string;
  empty?: ComponentChildren;
  // Shown in place of the list's own (an action's on the same page).
  error?: ApiError;
  paging: {controls: (next: string | undefined) => PagerProps};
  children: (items: T[]) => ComponentChildren;
}) {
  const {data} = list;
  return (
    <>
      <ErrorBox error={error ?? list.error} />
      {!data ? (list.error ? null : <Loading what={what} />)
        : data.items.length === 0 && empty !== undefined ? <Empty>{empty}</Empty>
        : children(data.items)}
      <Pager {...paging.controls(data?.nextPageToken)} />
    </>
  );
}

type PagerProps = {hasPrevious: boolean; next?: string; onPrevious: () => void; onNext: () => void};

export function Pager({hasPrevious, next, onPrevious, onNext}: {
  hasPrevious: boolean; next?: string; onPrevious: () => void; onNext: () => void;
}) {
  if (!hasPrevious && !next) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" class="secondary" disabled={!hasPrevious} onClick={onPrevious}>← Previous</button>
      <button type="button" class="secondary" disabled={!next} onClick={onNext}>Next →</button>
    </nav>
  );
}

export function Tabs({tabs, current, onSelect}: {tabs: string[]; current: string; onSelect: (tab: string) => void}) {
  // On a narrow screen the strip scrolls: the current tab is kept in sight (within the strip
  // alone, the page is not moved).
  const strip = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const node = strip.current;
    const active = node?.querySelector<HTMLElement>('[aria-selected=true]');
    if (!node || !active) return;
    const shown = node.getBoundingClientRect();
    const tab = active.getBoundingClientRect();
    if (tab.right > shown.right) node.scrollLeft += tab.right - shown.right;
    else if (tab.left < shown.left) node.scrollLeft -= shown.left - tab.left;
  }, [current]);
  return (
    <div class="tabs" role="tablist" ref={strip}>
      {tabs.map((tab) => (
        <button type="button" role="tab" aria-selected={tab === current} class={tab === current ? 'active' : ''}
                onClick={() => onSelect(tab)}>{tab}</button>
      ))}
    </div>
  );
}

export function Stat({label, value, children}: {label: string; value: string | number; children?: ComponentChildren}) {
  return (
    <div class="stat">
      <span class="stat-value">{value}</span>
      <span class="stat-label">{label}</span>
      {children}
    </div>
  );
}

export type InputEvent = JSX.TargetedEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, Event>;
export const valueOf = (event: InputEvent) => event.currentTarget.value;
