import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type Provider,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, DiscoveryModule, DiscoveryService } from '@nestjs/core';
import type { AnyClass } from '../decorators/registry.js';
import { checkClass } from '../decorators/resolve.js';
import { PiplProblemFilter } from './filter.js';
import { PiplNestGuard } from './guard.js';
import { PIPL_OPTIONS, type PiplModuleOptions } from './options.js';

/** Checks every controller's decorators against the policy when the app starts (`PiplConfigError`). */
class PiplStartupCheck implements OnApplicationBootstrap {
  constructor(
    private readonly options: PiplModuleOptions,
    private readonly discovery: DiscoveryService,
  ) {}

  onApplicationBootstrap(): void {
    for (const wrapper of this.discovery.getControllers()) {
      if (typeof wrapper.metatype === 'function')
        checkClass(this.options.pipl.policy, wrapper.metatype as AnyClass);
    }
  }
}
Injectable()(PiplStartupCheck);
Inject(PIPL_OPTIONS)(PiplStartupCheck, undefined as never, 0);
Inject(DiscoveryService)(PiplStartupCheck, undefined as never, 1);

export interface PiplModuleAsyncOptions {
  imports?: DynamicModule['imports'];
  // biome-ignore lint/suspicious/noExplicitAny: Nest injection tokens
  inject?: any[];
  useFactory: (...args: never[]) => PiplModuleOptions | Promise<PiplModuleOptions>;
  /** Register the guard as `APP_GUARD` (default true); known before the factory runs. */
  global?: boolean;
}

function build(options: Provider, global: boolean, imports: DynamicModule['imports'] = []): DynamicModule {
  // The filter is always global: it only catches PiplGuardError, wherever it is thrown from.
  const globals: Provider[] = [
    { provide: APP_FILTER, useClass: PiplProblemFilter },
    ...(global ? [{ provide: APP_GUARD, useExisting: PiplNestGuard }] : []),
  ];
  return {
    module: PiplModule,
    global: true,
    imports: [DiscoveryModule, ...imports],
    providers: [options, PiplNestGuard, PiplProblemFilter, PiplStartupCheck, ...globals],
    exports: [PIPL_OPTIONS, PiplNestGuard],
  };
}

/**
 * The NestJS module: provides `PiplNestGuard` (global `APP_GUARD` by default), the problem+json
 * filter, and a start-up check of every controller's `RequiresConsent` against the policy.
 *
 * @example
 * ```ts
 * @Module({ imports: [PiplModule.forRoot({ pipl })], controllers: [RecordsController] })
 * class AppModule {}
 * ```
 */
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with static factories
export class PiplModule {
  static forRoot(options: PiplModuleOptions): DynamicModule {
    return build({ provide: PIPL_OPTIONS, useValue: options }, options.global !== false);
  }

  /**
   * @example
   * ```ts
   * PiplModule.forRootAsync({ inject: [ConfigService], useFactory: (config) => ({ pipl: makeGuard(config) }) })
   * ```
   */
  static forRootAsync(options: PiplModuleAsyncOptions): DynamicModule {
    const provider: Provider = {
      provide: PIPL_OPTIONS,
      useFactory: options.useFactory,
      inject: options.inject ?? [],
    };
    return build(provider, options.global !== false, options.imports);
  }
}
Module({})(PiplModule);
