import { z } from 'zod';
import { uuidv7 } from '../audit/chain.js';
import type { DeletionStartedEvent } from '../audit/subject-events.js';
import type { DenyReason } from '../errors/codes.js';
import { isPiplGuardError, PiplConfigError } from '../errors/errors.js';
import { answerWithin } from '../guard/deadline.js';
import { createRefusals } from '../guard/refusal.js';
import { normalizeActor, type PiplGuard } from '../guard/types.js';
import type { SubjectEventInput } from './audit.js';
import { UNREADABLE } from './body.js';
import type { ConsentSummary, SubjectAnswer, SubjectRoutesOptions, Withdrawal } from './endpoint-types.js';
import { listing } from './listing.js';
import { OPT_OUT_KINDS, type OptOutKind, type SubjectStore } from './store.js';

const withdrawalSchema = z.discriminatedUnion('scope', [
  z.strictObject({ scope: z.literal('consent'), consentId: z.string().min(1).max(128) }),
  z.strictObject({ scope: z.literal('purpose'), purpose: z.string().min(1).max(256) }),
  z.strictObject({ scope: z.literal('all') }),
]);
const preferencesSchema = z
  .strictObject({ personalization: z.boolean().optional(), marketing: z.boolean().optional() })
  .refine((body) => body.personalization !== undefined || body.marketing !== undefined, 'name a preference');

const PATH = /^\/subjects\/([^/]+)(\/withdrawals|\/preferences)?\/?$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const refusal = createRefusals('PIPL-Consent');

/**
 * The framework-free core of the subject endpoints (`subjectRoutes` in `pipl-guard/express` and
 * `pipl-guard/koa`). Paths are relative to where the adapter is mounted:
 *
 * - `GET /subjects/:subject`: consents, withdrawals and opt-outs;
 * - `POST /subjects/:subject/withdrawals` `{ scope: 'consent', consentId } | { scope: 'purpose', purpose } | { scope: 'all' }` (Art. 15);
 * - `PUT /subjects/:subject/preferences` `{ personalization?: boolean, marketing?: boolean }`: `false` opts out (Art. 24(2)), `true` opts back in.
 *
 * Every change attempt, applied or not, is one durable audit record (`consent_withdrawal`,
 * `preference_change`, and `deletion_started` when `onWithdraw` started one).
 */
export function createSubjectEndpoints<R>(pipl: PiplGuard<string, string>, options: SubjectRoutesOptions<R>) {
  if (typeof options?.authenticate !== 'function' || typeof options.consents !== 'function') {
    throw new PiplConfigError(
      'subjectRoutes needs `authenticate(request)` and `consents(subject)` functions',
    );
  }
  const store = pipl.subjects;
  if (!store) {
    throw new PiplConfigError(
      'subjectRoutes needs a subject store: createPiplGuard({ subjects: ... }) instead of `revocations`',
    );
  }
  const consentPurposes = new Set(
    [...pipl.policy.purposes.values()]
      .filter((purpose) => purpose.basis === 'consent')
      .map((purpose) => purpose.key),
  );

  /** An application hook's answer, waited for at most `lookupTimeoutMs` (a hung one is a failed one). */
  const bounded = <T>(answer: T | PromiseLike<T>, hook: string) =>
    answerWithin(answer, pipl.lookupTimeoutMs, hook);

  function problem(code: DenyReason, requestId: string, detail?: string): SubjectAnswer {
    const error = refusal(code, detail);
    return {
      status: error.status,
      headers: {
        ...error.headers,
        'cache-control': 'no-store',
        'content-type': 'application/problem+json; charset=utf-8',
      },
      body: error.toProblem(requestId),
    };
  }
  const json = (status: number, body: unknown): SubjectAnswer => ({
    status,
    headers: { 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8' },
    body,
  });

  /** Matches a path; undefined when it is not a subject endpoint (the adapter passes it on). */
  function match(
    method: string,
    path: string,
  ): { action: 'list' | 'withdraw' | 'preferences'; subject: string } | undefined {
    const found = PATH.exec(path);
    if (!found) return undefined;
    let subject: string;
    try {
      subject = decodeURIComponent(found[1] as string);
    } catch {
      return undefined;
    }
    const tail = found[2];
    // Another method on these paths is not ours: the adapter passes it on (the framework's 404/405).
    if (tail === undefined) return method === 'GET' ? { action: 'list', subject } : undefined;
    if (tail === '/withdrawals') return method === 'POST' ? { action: 'withdraw', subject } : undefined;
    return method === 'PUT' ? { action: 'preferences', subject } : undefined;
  }

  async function record(event: SubjectEventInput): Promise<boolean> {
    try {
      await pipl.recordSubjectEvent(event);
      return true;
    } catch {
      return false;
    }
  }

  /** Runs one request. Never rejects. */
  async function handle(
    request: R,
    method: string,
    path: string,
    header: (name: string) => string | string[] | undefined,
    body: () => Promise<unknown>,
  ): Promise<SubjectAnswer | undefined> {
    const route = match(method, path);
    if (!route) return undefined;
    const supplied = header('x-request-id');
    const requestId =
      typeof supplied === 'string' && REQUEST_ID.test(supplied) ? supplied : uuidv7(Date.now());
    const { subject } = route;
    const kind = route.action === 'withdraw' ? 'consent_withdrawal' : 'preference_change';
    const base = { requestId, subject };
    /** Every change attempt is recorded, refused ones too; reads are not changes. */
    const refuse = async (actor: { id: string; type?: string } | null, code: DenyReason, detail?: string) => {
      const answer = problem(code, requestId, detail);
      if (route.action !== 'list') {
        const attempt = {
          ...base,
          actor,
          result: code === 'revocation_unavailable' || code === 'guard_unavailable' ? 'failed' : 'refused',
          reason: code,
          status: answer.status,
        } as const;
        const event: SubjectEventInput =
          kind === 'consent_withdrawal'
            ? { ...attempt, type: kind, scope: null }
            : { ...attempt, type: kind, kind: null, optedOut: null };
        if (!(await record(event))) return problem('audit_unavailable', requestId);
      }
      return answer;
    };
    let actor: { id: string; type?: string } | null = null;
    try {
      actor = normalizeActor(await bounded(options.authenticate(request), 'authenticate'));
      if (!actor) return await refuse(null, 'subject_unauthenticated');
      if (actor.id !== subject && !(await isAgent(actor, subject)))
        return await refuse(actor, 'subject_forbidden');
      if (route.action === 'list') {
        const consents = await bounded(options.consents(subject), 'consents');
        return json(200, await listing(store as SubjectStore, subject, consents, requestId));
      }
      const input = await body();
      if (!pipl.auditAvailable()) return problem('audit_unavailable', requestId);
      if (route.action === 'withdraw') {
        const consents = await bounded(options.consents(subject), 'consents');
        return await withdraw(actor, subject, consents, input, requestId, refuse);
      }
      return await preferences(actor, subject, input, requestId, refuse);
    } catch (error) {
      if (isPiplGuardError(error)) return problem(error.code, requestId);
      // A hook of the application's (authenticate, consents, isAuthorizedAgent) threw or hung: the
      // attempt failed, is recorded like every change attempt, and onError is told.
      pipl.reportError(error);
      return refuse(actor, 'guard_unavailable');
    }
  }

  function isAgent(actor: { id: string; type?: string }, subject: string): Promise<boolean> {
    // Withdrawing and opting out are the subject's rights (Art. 15, 24, 44): the agents of rights requests.
    return pipl.isAuthorizedAgent(actor, subject, 'correction');
  }

  type Refuse = (
    actor: { id: string; type?: string } | null,
    code: DenyReason,
    detail?: string,
  ) => Promise<SubjectAnswer>;

  async function withdraw(
    actor: { id: string; type?: string },
    subject: string,
    consents: readonly ConsentSummary[],
    input: unknown,
    requestId: string,
    refuse: Refuse,
  ): Promise<SubjectAnswer> {
    const parsed = input === UNREADABLE ? undefined : withdrawalSchema.safeParse(input);
    if (!parsed?.success)
      return refuse(
        actor,
        'body_invalid',
        'expected { scope: "consent", consentId } | { scope: "purpose", purpose } | { scope: "all" }',
      );
    const change = parsed.data;
    const at = Math.floor(Date.now() / 1000);
    let consent: ConsentSummary | undefined;
    if (change.scope === 'consent') {
      consent = consents.find((c) => c.id === change.consentId);
      if (!consent) return refuse(actor, 'consent_unknown');
    }
    if (change.scope === 'purpose' && !consentPurposes.has(change.purpose)) {
      return refuse(actor, 'body_invalid', 'not a consent purpose of this service');
    }
    const s = store as SubjectStore;
    try {
      if (change.scope === 'consent')
        await s.withdrawConsent({ consentId: change.consentId, at, until: consent?.expiresAt, subject });
      else if (change.scope === 'purpose') await s.withdrawPurpose(subject, change.purpose, at);
      else await s.withdrawAll(subject, at);
    } catch {
      return refuse(actor, 'revocation_unavailable');
    }
    const what = {
      scope: change.scope,
      ...('consentId' in change ? { consentId: change.consentId } : {}),
      ...('purpose' in change ? { purpose: change.purpose } : {}),
    };
    const recorded = await record({
      type: 'consent_withdrawal',
      requestId,
      actor,
      subject,
      result: 'done',
      status: 200,
      ...what,
    });
    if (!recorded)
      return problem(
        'audit_unavailable',
        requestId,
        'the withdrawal applies; its audit record could not be written yet',
      );
    const deletion = await startDeletion({ subject, at, actor, ...what }, requestId);
    return json(200, { requestId, subject, withdrawal: { ...what, at }, deletion });
  }

  async function startDeletion(withdrawal: Withdrawal, requestId: string) {
    if (!options.onWithdraw) return null;
    const { subject, actor, scope } = withdrawal;
    const what: Pick<DeletionStartedEvent, 'scope' | 'consentId' | 'purpose'> = { scope };
    if (withdrawal.consentId) what.consentId = withdrawal.consentId;
    if (withdrawal.purpose) what.purpose = withdrawal.purpose;
    try {
      const started = await bounded(options.onWithdraw(withdrawal), 'onWithdraw');
      if (!started) return { started: false };
      const reference = typeof started.reference === 'string' ? started.reference : undefined;
      await record({
        type: 'deletion_started',
        requestId,
        actor,
        subject,
        result: 'done',
        status: 200,
        ...what,
        ...(reference ? { reference } : {}),
      });
      return { started: true, ...(reference ? { reference } : {}) };
    } catch (error) {
      // Art. 47: a deletion that did not start is the operator's to follow up: they are told.
      pipl.reportError(error);
      await record({
        type: 'deletion_started',
        requestId,
        actor,
        subject,
        result: 'failed',
        reason: 'on_withdraw_failed',
        status: 200,
        ...what,
      });
      return { started: false, error: 'on_withdraw_failed' };
    }
  }

  async function preferences(
    actor: { id: string; type?: string },
    subject: string,
    input: unknown,
    requestId: string,
    refuse: Refuse,
  ): Promise<SubjectAnswer> {
    const parsed = input === UNREADABLE ? undefined : preferencesSchema.safeParse(input);
    if (!parsed?.success)
      return refuse(actor, 'body_invalid', 'expected { personalization?: boolean, marketing?: boolean }');
    const s = store as SubjectStore;
    const changes = OPT_OUT_KINDS.filter((kind) => parsed.data[kind] !== undefined).map((kind) => ({
      kind,
      // The body says what the subject allows: `false` is an opt-out.
      optedOut: parsed.data[kind] === false,
    }));
    for (const { kind, optedOut } of changes) {
      try {
        await s.setOptOut(subject, kind as OptOutKind, optedOut);
      } catch {
        return refuse(actor, 'revocation_unavailable');
      }
      const recorded = await record({
        type: 'preference_change',
        requestId,
        actor,
        subject,
        result: 'done',
        status: 200,
        kind,
        optedOut,
      });
      if (!recorded)
        return problem(
          'audit_unavailable',
          requestId,
          'the change applies; its audit record could not be written yet',
        );
    }
    const state = await s.list(subject);
    return json(200, { requestId, subject, optedOut: state.optedOut });
  }

  return { match, handle };
}
