/**
 * Waits for `answer` at most `ms` milliseconds: a dependency that never answers (a hung connection,
 * an exhausted pool) must not hold a request, its socket and its memory for ever. After the deadline
 * the result rejects with `<what> did not answer within <ms> ms`; a late rejection of `answer` is
 * handled here, so it cannot become an unhandled rejection.
 */
export function withinTime<T>(answer: PromiseLike<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  const pending = Promise.resolve(answer);
  pending.catch(() => {});
  return Promise.race([pending, late]).finally(() => clearTimeout(timer));
}

/** A hook's answer: at once when it gives one, within `ms` when it gives a promise. */
export function answerWithin<T>(answer: T | PromiseLike<T>, ms: number, what: string): T | Promise<T> {
  return isThenable(answer) ? withinTime(answer, ms, what) : answer;
}

export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  // A store, hook or sink may hand back any promise-like, not only a native Promise.
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
