import type { Meter, Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { describe, expectTypeOf, it } from 'vitest';
import type { AuditHealthMessage, DecisionMessage, SubjectMessage } from '../../src/diagnostics/index.js';
import type { PiplGuardOptions, PiplLogger, ReasonCode } from '../../src/index.js';
import { type OpenApiDocument, withPiplOpenApi } from '../../src/openapi/index.js';
import { instrumentPipl } from '../../src/otel/index.js';

describe('public types of the observability subpaths', () => {
  it('payloads carry stable codes and no raw subject field', () => {
    expectTypeOf<DecisionMessage['reason']>().toEqualTypeOf<ReasonCode>();
    expectTypeOf<DecisionMessage['decision']>().toEqualTypeOf<'allow' | 'deny' | 'degrade'>();
    expectTypeOf<DecisionMessage['subject']>().toEqualTypeOf<string | null>();
    expectTypeOf<DecisionMessage>().not.toHaveProperty('token');
    expectTypeOf<AuditHealthMessage['event']>().toEqualTypeOf<
      'batch_written' | 'write_failed' | 'retry' | 'recovered' | 'checkpoint_shipped' | 'checkpoint_failed'
    >();
    expectTypeOf<SubjectMessage['action']>().toEqualTypeOf<'withdraw'>();
  });

  it('a pino logger is a PiplLogger; instrumentPipl takes OTel tracer and meter', () => {
    expectTypeOf<Logger>().toExtend<PiplLogger>();
    expectTypeOf<PiplGuardOptions<string, string>['logDenials']>().toEqualTypeOf<
      'info' | 'warn' | false | undefined
    >();
    expectTypeOf(instrumentPipl).parameter(0).toExtend<{ tracer?: Tracer; meter?: Meter } | undefined>();
    expectTypeOf(instrumentPipl).returns.toEqualTypeOf<{ stop(): void }>();
  });

  it('withPiplOpenApi returns the type of the document it was given', () => {
    const document = { openapi: '3.1.0', info: { title: 't', version: '1' } } satisfies OpenApiDocument;
    expectTypeOf(withPiplOpenApi(document, { routes: [] })).toEqualTypeOf<typeof document>();
  });
});
