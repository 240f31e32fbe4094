import type { Redis } from 'ioredis';
import { withinTime } from '../guard/deadline.js';

/**
 * Runs one Redis command failing closed (the Redis stores' one way to ask): never queued while the
 * client is not `ready`, never waited on longer than `timeoutMs` (see `withinTime`).
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
  let pending: Promise<T>;
  try {
    pending = run();
  } catch (error) {
    return Promise.reject(error);
  }
  return withinTime(pending, timeoutMs, label);
}
