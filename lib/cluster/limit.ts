// At most N calls in flight, the others waiting their turn in order: corral verify's calls through
// the node command and the CPU check's libvirt questions. A freed place goes straight to the next
// waiter, so the bound holds however calls arrive.

export interface LimitOptions {
  /** A call whose turn comes after this time (ms, as `now` counts) is not made: it rejects. */
  deadline?: number;
  now?: () => number;
}

export function callLimit(n: number, opts: LimitOptions = {}): <T>(call: () => Promise<T>) => Promise<T> {
  const now = opts.now ?? Date.now;
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return async <T>(call: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((go) => waiting.push(go));
    else active++;
    try {
      if (opts.deadline !== undefined && now() > opts.deadline) throw new Error('not asked: the check ran out of time');
      return await call();
    } finally {
      release();
    }
  };
}
