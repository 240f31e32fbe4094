import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { AUDIT_CHANNEL, type AuditHealthMessage } from '../diagnostics/channels.js';
import { PiplConfigError } from '../errors/errors.js';
import type { Policy } from '../policy/define-policy.js';

type LogMethod = (fields: Record<string, unknown>, message?: string) => void;

/** What pipl-guard needs of a logger: pino's `(object, message)` methods. A pino logger fits as is. */
export interface PiplLogger {
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
}

export type DenialLogLevel = 'info' | 'warn' | false;

/** Runs a log call; a logger that throws must neither fail a request nor crash a channel subscriber. */
export function quietly(log: () => void): void {
  try {
    log();
  } catch {
    // Nothing sensible to do: the log transport is broken, the decision stands.
  }
}

/** Checks the `logger` and `logDenials` options once, at start-up. */
export function checkLoggerOptions(logger: unknown, logDenials: unknown): void {
  if (logger !== undefined) {
    const methods = ['error', 'warn', 'info', 'debug'] as const;
    if (
      typeof logger !== 'object' ||
      logger === null ||
      methods.some((m) => typeof (logger as Record<string, unknown>)[m] !== 'function')
    ) {
      throw new PiplConfigError(
        '`logger` must have error, warn, info and debug methods (a pino logger fits)',
      );
    }
  }
  if (logDenials !== undefined && logDenials !== 'info' && logDenials !== 'warn' && logDenials !== false) {
    throw new PiplConfigError("`logDenials` must be 'info', 'warn' or false");
  }
}

/** Configuration an operator should hear about once, when the guard is built. */
export function logStartupWarnings(
  logger: PiplLogger,
  options: { policy: Policy; subjectKey: unknown; sharedRevocations: boolean },
): void {
  if (options.subjectKey === false) {
    logger.warn(
      { setting: 'audit.subjectKey' },
      'pipl-guard: audit.subjectKey is false, so subject ids are written to the audit log in clear',
    );
  }
  if (!options.sharedRevocations) {
    logger.warn(
      { setting: 'revocations' },
      'pipl-guard: withdrawals are kept in memory: they reach this instance only and are lost on restart',
    );
  }
  const failOpen = [...options.policy.purposes.values()].filter((p) => p.failOpen).map((p) => p.key);
  if (failOpen.length > 0) {
    logger.warn(
      { purposes: failOpen },
      'pipl-guard: these purposes let requests through unrecorded while the audit log cannot be written',
    );
  }
}

const AUDIT_LEVELS: Record<AuditHealthMessage['event'], keyof PiplLogger | undefined> = {
  batch_written: undefined, // the normal case, many times a second: not logged
  write_failed: 'error',
  retry: 'debug',
  recovered: 'warn',
  checkpoint_shipped: 'debug',
  checkpoint_failed: 'error',
};
const AUDIT_MESSAGES: Record<AuditHealthMessage['event'], string> = {
  batch_written: 'pipl-guard: audit batch written',
  write_failed: 'pipl-guard: audit write failed; guarded requests are refused (503) until it recovers',
  retry: 'pipl-guard: retrying the failed audit write',
  recovered: 'pipl-guard: audit log recovered; requests are accepted again',
  checkpoint_shipped: 'pipl-guard: audit checkpoint issued',
  checkpoint_failed: 'pipl-guard: audit checkpoint failed',
};

/** How many guards share each logger's subscription: two guards on one logger log each event once. */
const watchers = new WeakMap<PiplLogger, { count: number; stop: () => void }>();

/**
 * Logs audit-sink state changes (failure, retry, recovery, checkpoints). Sink health is published
 * process-wide, so one subscription per logger. Returns the function that ends it.
 */
export function watchAuditHealth(logger: PiplLogger): () => void {
  let watcher = watchers.get(logger);
  if (!watcher) {
    const onMessage = (raw: unknown) => {
      const message = raw as AuditHealthMessage;
      const level = AUDIT_LEVELS[message.event];
      if (level) quietly(() => logger[level]({ audit: message }, AUDIT_MESSAGES[message.event]));
    };
    subscribe(AUDIT_CHANNEL, onMessage);
    watcher = { count: 0, stop: () => unsubscribe(AUDIT_CHANNEL, onMessage) };
    watchers.set(logger, watcher);
  }
  const shared = watcher;
  shared.count++;
  let stopped = false;
  return function stopWatching() {
    if (stopped) return;
    stopped = true;
    if (--shared.count === 0) {
      shared.stop();
      watchers.delete(logger);
    }
  };
}
