import type { Redis } from 'ioredis';

/**
 * Runs one Redis command failing closed (the Redis stores' one way to ask): never queued while the
 * client is not `ready`, never waited on longer than `timeoutMs`. A late failure after the timeout
 * is swallowed here so it cannot become an unhandled rejection.
 */
export function failClosed<T>(
  client: Redis,
  label: string,
  timeoutMs: number,
  run: () => Promise<T>,
): Promise<T> {
  if (client.status !== 'ready') {
    return Promise.reject(new Error(`${label}: Redis is not ready (status ${client.status})`));
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  let pending: Promise<T>;
  try {
    pending = run();
  } catch (error) {
    clearTimeout(timer);
    return Promise.reject(error);
  }
  // The command may still fail after the timeout has won: that late rejection is handled here.
  pending.catch(() => {});
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
}
