import { uuidv7 } from '../audit/chain.js';
import { type RevocationStore, withdrawalExpiry } from '../consent/revocation.js';
import type { ConsentVerifier } from '../consent/verify.js';
import { publishSubject } from '../diagnostics/channels.js';
import { PiplGuardError } from '../errors/errors.js';
import type { SubjectStore } from '../subject/store.js';
import type { AuditTrail } from './audit-trail.js';
import type { PiplGuard } from './types.js';

/**
 * `pipl.withdraw()`: applies a withdrawal in the store the guard consults, then records it durably
 * (`consent_withdrawal`, `via: 'api'`). The subject's protection comes first: a log that cannot take
 * the record leaves the withdrawal applied and rejects `audit_unavailable`; a store that fails is
 * recorded as a failed attempt and its error rethrown.
 */
export function createWithdraw(deps: {
  verifier: ConsentVerifier | undefined;
  subjects: SubjectStore | undefined;
  revocations: RevocationStore;
  trail: AuditTrail;
  onError: (error: unknown) => void;
}): PiplGuard<string, string>['withdraw'] {
  const { verifier, subjects, revocations, trail, onError } = deps;
  return async function withdraw(consentId, until, by = {}) {
    if (until !== undefined) {
      withdrawalExpiry(until); // refuses an `until` in the past, whatever the store
      // Art. 15: kept at least as long as any token carrying the id can still verify.
      const lifetime = verifier?.maxTokenLifetimeSec;
      if (lifetime !== undefined) until = Math.max(until, Math.ceil(Date.now() / 1000) + lifetime);
    }
    // Recorded like a withdrawal through the subject's endpoint, without the HTTP status none answered.
    const attempt = {
      type: 'consent_withdrawal',
      requestId: uuidv7(Date.now()),
      actor: by.actor ?? null,
      subject: by.subject ?? null,
      scope: 'consent',
      consentId,
      via: 'api',
    } as const;
    try {
      if (subjects) {
        const subject = by.subject;
        await subjects.withdrawConsent({ consentId, at: Math.floor(Date.now() / 1000), until, subject });
      } else await revocations.revoke(consentId, until);
    } catch (error) {
      // The caller learns of the store's failure from its error; the log, that it was tried.
      await trail
        .subjectEvent({ ...attempt, result: 'failed', reason: 'revocation_unavailable' })
        .catch(() => {});
      throw error;
    }
    publishSubject({ action: 'withdraw', consentId, until });
    // The withdrawal applies whatever the log says: protecting the subject comes first.
    try {
      await trail.subjectEvent({ ...attempt, result: 'done' });
    } catch (error) {
      onError(error);
      throw new PiplGuardError(
        'audit_unavailable',
        'The withdrawal applies; its audit record could not be written',
      );
    }
  };
}
