/**
 * Whether a child's handles (its process, pipes, sockets, timers) keep Node's event loop alive: an
 * idle warm child must not, a child running a script must. The one loop both ways of starting a
 * child (launch.ts, and the spawner: spawner-process.ts, spawned-child.ts) use.
 */

/** What libuv can hold the loop open with; a child's pipes are typed as plain streams, so any object is taken. */
type Holdable = { ref?(): unknown; unref?(): unknown };

/** Refs every handle when `held`, else unrefs it; null or undefined where a handle is absent. */
export function holdHandles(handles: Array<object | null | undefined>, held: boolean): void {
  for (const handle of handles as Array<Holdable | null | undefined>) {
    if (held) handle?.ref?.();
    else handle?.unref?.();
  }
}
