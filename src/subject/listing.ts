import type { ConsentSummary } from './endpoint-types.js';
import type { SubjectStore } from './store.js';

/** The answer of `GET /subjects/:subject`: the app's consents with their status, withdrawals, opt-outs. */
export async function listing(
  store: SubjectStore,
  subject: string,
  consents: readonly ConsentSummary[],
  requestId: string,
) {
  const state = await store.list(subject);
  const withdrawnIds = new Map(state.consents.map((c) => [c.id, c.withdrawnAt]));
  const purposes = new Map(state.purposes.map((p) => [p.purpose, p.withdrawnAt]));
  return {
    requestId,
    subject,
    consents: consents.map((consent) => {
      const given = consent.givenAt ?? 0;
      const all =
        state.allWithdrawnAt !== undefined && given <= state.allWithdrawnAt
          ? state.allWithdrawnAt
          : undefined;
      const withdrawnAt = withdrawnIds.get(consent.id) ?? all ?? null;
      return {
        id: consent.id,
        givenAt: consent.givenAt ?? null,
        expiresAt: consent.expiresAt ?? null,
        withdrawnAt,
        purposes: consent.purposes.map((purpose) => {
          const at = purposes.get(purpose);
          return { purpose, withdrawnAt: withdrawnAt ?? (at !== undefined && given <= at ? at : null) };
        }),
      };
    }),
    withdrawnPurposes: state.purposes,
    allWithdrawnAt: state.allWithdrawnAt ?? null,
    optedOut: state.optedOut,
  };
}
