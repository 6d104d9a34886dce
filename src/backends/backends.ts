/**
 * @module The backends of a configuration: a static table from backend type to factory (no
 * discovery by package name), built once at start-up, and the routing from a kind's provider to
 * the backends that carry out its operations.
 */
import type { BackendConfig } from '../config.ts';
import type { Provider } from '../model/category.ts';
import { ConfigError, OcciError } from '../errors.ts';
import type { Backend, BackendDeps, BackendFactory, TemplateSource } from './backend.ts';
import { createCycladesBackend, CYCLADES_BACKEND } from './cyclades/cyclades-backend.ts';
import { createRemoteBackend, REMOTE_BACKEND } from './remote/remote-backend.ts';
import { createStoreBackend, STORE_BACKEND } from './store/store-backend.ts';
import { instrumentBackend } from './instrumented.ts';

function isTemplateSource(backend: Backend): backend is Backend & TemplateSource {
  return typeof (backend as Partial<TemplateSource>).templates === 'function';
}

/** The contract types, for callers that know this module only. */
export type { BackendDeps, BackendFactory, TemplateSource } from './backend.ts';

/** Every backend type, by the `type` configuration value. */
export const BACKEND_FACTORIES = new Map<string, BackendFactory>([
  [STORE_BACKEND, (config) => createStoreBackend(config.name)],
  [REMOTE_BACKEND, createRemoteBackend],
  [CYCLADES_BACKEND, createCycladesBackend],
]);

/** The configured backends by name, and the provider routing over them. */
export class BackendRouter {
  readonly #byName: Map<string, Backend>;

  constructor(backends: Backend[]) {
    this.#byName = new Map(backends.map((b) => [b.name, b]));
  }

  /** Builds every configured backend; a bad one stops start-up with a ConfigError. */
  static fromConfig(configs: BackendConfig[], deps: BackendDeps): BackendRouter {
    const backends = configs.map((config) => {
      const factory = BACKEND_FACTORIES.get(config.type);
      if (!factory) throw new ConfigError(`backend "${config.name}" has type "${config.type}", which is not one of: ${[...BACKEND_FACTORIES.keys()].join(', ')}`);
      return instrumentBackend(factory(config, deps));
    });
    return new BackendRouter(backends);
  }

  /** A configured backend by name. */
  get(name: string): Backend | undefined {
    return this.#byName.get(name);
  }

  /** The names of the configured backends. */
  names(): Set<string> {
    return new Set(this.#byName.keys());
  }

  /** The backends a provider names, local ones first, in order. */
  route(provider: Provider): Backend[] {
    return [...provider.local, ...provider.remote].map((name) => {
      const backend = this.#byName.get(name);
      // Providers are checked against the configuration when set; a name can only be missing when a
      // provider was stored under an older configuration.
      if (!backend) throw new OcciError('backend-unavailable', `the provider names backend "${name}", which is not configured`);
      return backend;
    });
  }

  /** The backends that offer per-caller templates. */
  templateSources(): TemplateSource[] {
    return [...this.#byName.values()].filter(isTemplateSource);
  }

  /** Disposes of every backend. */
  async dispose(): Promise<void> {
    for (const backend of this.#byName.values()) await backend.dispose?.();
  }
}
