import type { ComponentChildren } from 'preact';

export function Status({ value }: { value: string }) {
  return <span class={`status status-${value.replace(/[^a-z-]/g, '')}`}>{value}</span>;
}

export function Loading({ error }: { error: string | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : (
    <p class="muted">loading…</p>
  );
}

/** A message after an action (ok or not), shown until the next one. */
export function Notice({ notice }: { notice: { ok: boolean; text: string } | undefined }) {
  if (!notice) return null;
  return (
    <p class={notice.ok ? 'notice' : 'error'} role="status" data-testid="notice">
      {notice.text}
    </p>
  );
}

export function Section({
  title,
  children,
  actions,
}: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section>
      <header class="section-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}
