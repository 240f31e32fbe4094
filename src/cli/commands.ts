import type { CliCommand } from './command.js';
import { generateKeys } from './keys.js';
import { inspectToken, issueToken } from './token.js';

// One module per command. A new command is one module and one line here.
export const COMMANDS: Record<string, () => Promise<CliCommand>> = {
  'audit verify': async () => (await import('./audit-verify.js')).verifyCommand,
  'audit query': async () => (await import('./audit-query.js')).queryCommand,
  'audit export': async () => (await import('./audit-query.js')).exportCommand,
  'audit stats': async () => (await import('./audit-stats.js')).statsCommand,
  'audit subject': async () => (await import('./subject.js')).subjectCommandSpec,
  'policy records': async () => (await import('./policy-records.js')).policyRecordsCommand,
  report: async () => (await import('./report.js')).reportCommand,
  'keys generate': async () => ({
    name: 'keys generate',
    summary: 'a signing key pair: EdDSA for checkpoints, ES256 for consent tokens',
    usage: `Usage: pipl-guard keys generate [--alg EdDSA|ES256|SM2] [--kid id]

Prints {"privateJwk": …, "jwks": {"keys": [public JWK]}}: keep privateJwk secret (checkpoint signer
or token issuer), hand jwks to verifiers (audit verify --keys). SM2 keys (checkpoint alg SM2SM3)
need the optional package sm-crypto-v2.
`,
    run: generateKeys,
  }),
  'token issue': async () => ({
    name: 'token issue',
    summary: 'a consent token for local testing',
    usage: `Usage: pipl-guard token issue --key private.jwk --consent consent.json [--alg ES256] [--expires-in seconds]

consent.json holds issueConsentToken's options without the key: issuer, audience, subject, notice, grants.
`,
    run: issueToken,
  }),
  'token inspect': async () => ({
    name: 'token inspect',
    summary: 'decodes a token (nothing is verified)',
    usage: `Usage: pipl-guard token inspect <token>

Prints the header and claims, decoded only: signature, issuer, audience and expiry are NOT checked.
`,
    run: inspectToken,
  }),
};
