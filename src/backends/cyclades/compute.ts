/**
 * @module Compute resources as Cyclades servers (§1.4–1.6 of the API notes): create from the
 * backend's os_tpl and resource_tpl mixins, state from `GET /servers/<id>`, the start / stop /
 * restart actions, resize by changing the resource_tpl mixin, rename by changing the title, and
 * delete. Cyclades works asynchronously: every outcome shows what Cyclades says at that moment
 * (e.g. `inactive` with message `BUILDING` right after create), and later reads show the rest.
 */
import { OcciError, ValidationError } from '../../errors.ts';
import type { AttributeValue } from '../../model/category.ts';
import { idOf, type Entity } from '../../model/entity.ts';
import type { BackendOutcome } from '../backend.ts';
import { deleteIgnoringGone, isError, notImplemented } from './errors.ts';
import { COMPUTE_ACTION, cycladesIdOf } from './ids.ts';
import { extraVolumes, readServer, serverGone, serverIdle, whenIdle } from './jobs.ts';
import { idField, isObject, list, member, numeric, requireId, text, type JsonObject } from './json.ts';
import { findAfterLoss, isLostAnswer, isMarkedFor, marksOf, readRef, releaseFloatingIps, writeRef } from './marks.ts';
import type { CycladesServices, CycladesSession } from './session.ts';
import { memoryGiB, templateTerms, type FlavorInfo, type ImageInfo, type TemplateCatalog } from './templates.ts';

/** Attribute changes, `null` removing one. */
type Changes = Record<string, AttributeValue | null>;

/** OCCI state of each Cyclades server status (the recommended mapping at the end of §5). */
const STATES: Readonly<Record<string, string>> = {
  ACTIVE: 'active',
  STOPPED: 'inactive',
  BUILD: 'inactive',
  REBOOT: 'active',
  RESIZE: 'inactive',
  ERROR: 'error',
  UNKNOWN: 'error',
};

/** The message of a status when Cyclades shows no task (`SNF:task_state` empty). */
const STATUS_MESSAGES: Readonly<Record<string, string>> = {
  BUILD: 'building',
  REBOOT: 'rebooting',
  RESIZE: 'resizing',
  ERROR: 'Cyclades reports the server in ERROR',
  UNKNOWN: 'Cyclades reports the server state as UNKNOWN',
};

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** Where cloud-init's NoCloud data source reads user data (snf-occi writes it there too). */
const NOCLOUD_USER_DATA = '/var/lib/cloud/seed/nocloud-net/user-data';
/** Owner-only read/write (0600), as a number as Cyclades wants it. */
const MODE_0600 = 0o600;
/** The conflict Cyclades answers when the default public network needs a floating IP the user lacks. */
const NEEDS_FLOATING_IP = /create a floating IP/i;

/** True when `server` is deleted in Cyclades' eyes. */
function isDeleted(server: JsonObject): boolean {
  return text(server, 'status') === 'DELETED' || server['deleted'] === true;
}

/** The OCCI attributes of a server (and its flavor, when known). */
export function computeAttributes(server: JsonObject, flavor: FlavorInfo | undefined): Changes {
  const status = text(server, 'status') ?? 'UNKNOWN';
  const task = text(server, 'SNF:task_state') ?? '';
  let message: string | null = task !== '' ? task : (STATUS_MESSAGES[status] ?? null);
  if (status === 'BUILD' && message !== null) message = `${message} (${numeric(server, 'progress') ?? 0}%)`;
  if (server['suspended'] === true) message = message === null ? 'administratively suspended' : `${message}; administratively suspended`;
  const changes: Changes = {
    'occi.compute.state': STATES[status] ?? 'error',
    'occi.compute.state.message': message,
  };
  if (flavor !== undefined) {
    changes['occi.compute.cores'] = flavor.vcpus;
    changes['occi.compute.memory'] = memoryGiB(flavor.ram);
  }
  const fqdn = text(server, 'SNF:fqdn');
  if (fqdn !== undefined && fqdn.length <= 254 && HOSTNAME.test(fqdn)) changes['occi.compute.hostname'] = fqdn;
  return changes;
}

/**
 * The OCCI actions Cyclades accepts for a server now (`logic/commands.py:validate_server_action`):
 * none while a job is pending, while it builds, in ERROR or suspended; stop and restart when
 * running; start and restart (which starts it) when stopped.
 */
export function allowedActions(server: JsonObject): string[] {
  const task = text(server, 'SNF:task_state') ?? '';
  if (task !== '' || server['suspended'] === true) return [];
  switch (text(server, 'status')) {
    case 'ACTIVE':
      return [`${COMPUTE_ACTION}stop`, `${COMPUTE_ACTION}restart`];
    case 'STOPPED':
      return [`${COMPUTE_ACTION}start`, `${COMPUTE_ACTION}restart`];
    default:
      return [];
  }
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** User data as base64: kept when it already is base64 (as OCCI suggests), encoded otherwise. */
export function userDataBase64(value: string): string {
  const compact = value.replace(/\s+/g, '');
  if (compact.length > 0 && compact.length % 4 === 0 && BASE64.test(compact)) return compact;
  return Buffer.from(value, 'utf8').toString('base64');
}

/** Personality files for an SSH key: `authorized_keys` of every user the image names (root when none). */
function keyFiles(publicKey: string, image: ImageInfo | undefined): JsonObject[] {
  const contents = Buffer.from(`${publicKey.trim()}\n`, 'utf8').toString('base64');
  const users = (image?.metadata['users'] ?? '').split(/\s+/).filter((u) => /^[a-z_][a-z0-9_-]*$/i.test(u));
  return (users.length > 0 ? users : ['root']).map((user) => ({
    path: user === 'root' ? '/root/.ssh/authorized_keys' : `/home/${user}/.ssh/authorized_keys`,
    contents,
    owner: user,
    group: user,
    mode: MODE_0600,
  }));
}

/** The compute operations of one backend. */
export class ComputeOps {
  constructor(
    private readonly services: CycladesServices,
    private readonly templates: TemplateCatalog,
  ) {}

  get #name(): string {
    return this.services.backendName;
  }

  /** The image and flavor of a compute: exactly one of each from this backend's templates. */
  #templatesOf(entity: Pick<Entity, 'mixins'>): { image: string; flavor: string } {
    const { images, flavors } = templateTerms(this.#name, entity.mixins);
    const problems: { pointer: string; message: string }[] = [];
    if (images.length !== 1)
      problems.push({
        pointer: '/mixins',
        message: `a compute of backend "${this.#name}" needs exactly one os_tpl mixin of this backend (scheme http://schemas.ocni.dev/cyclades/${this.#name}/os_tpl#), it has ${images.length}`,
      });
    if (flavors.length !== 1)
      problems.push({
        pointer: '/mixins',
        message: `a compute of backend "${this.#name}" needs exactly one resource_tpl mixin of this backend (scheme http://schemas.ocni.dev/cyclades/${this.#name}/resource_tpl#), it has ${flavors.length}`,
      });
    if (flavors.length === 1 && !/^\d+$/.test(flavors[0]!)) problems.push({ pointer: '/mixins', message: `resource_tpl "${flavors[0]!}" is not a Cyclades flavor id` });
    if (problems.length > 0) throw new ValidationError(problems.map((p) => p.message).join('; '), problems);
    return { image: images[0]!, flavor: flavors[0]! };
  }

  /**
   * `POST /servers`. The os_tpl and resource_tpl are checked before anything is sent. The SSH key
   * and user data become personality files (and `user_data`). `networks` follows the
   * `serverNetworks` option; with the deployment default, a 409 asking for a floating IP is
   * answered by allocating one and trying once more (never more).
   */
  async create(entity: Entity, session: CycladesSession): Promise<BackendOutcome> {
    const { image, flavor } = this.#templatesOf({ mixins: await this.templates.resolveNames(session, entity.mixins) });
    const publicKey = entity.attributes['occi.credentials.ssh.publickey'];
    const userData = entity.attributes['occi.compute.userdata'];
    const personality: JsonObject[] = [];
    if (typeof publicKey === 'string' && publicKey.trim() !== '') {
      // Which users the key is for comes from the image's `users` property.
      const catalogImage = (await this.templates.catalog(session)).images.find((i) => i.id === image);
      personality.push(...keyFiles(publicKey, catalogImage));
    }
    const server: JsonObject = { name: entity.title ?? idOf(entity.location), imageRef: image, flavorRef: Number(flavor), project: await session.project() };
    if (typeof userData === 'string' && userData !== '') {
      const encoded = userDataBase64(userData);
      server['user_data'] = encoded;
      personality.push({ path: NOCLOUD_USER_DATA, contents: encoded, owner: 'root', group: 'root', mode: MODE_0600 });
    }
    if (personality.length > 0) server['personality'] = personality;
    if (this.services.options.serverNetworks === 'none') server['networks'] = [];
    // Marked, so that a server whose creation answer is lost can be found (see marks.ts).
    server['metadata'] = marksOf(entity, session);

    let created: { server: JsonObject; floatingIp?: string };
    try {
      created = await this.#post(server, entity, session);
    } catch (error) {
      // The catalog this token saw is stale when Cyclades no longer knows the image or flavor.
      if (isError(error, ['not-found'])) this.templates.invalidate(session);
      throw error;
    }
    const id = requireId(created.server, 'id', 'a server creation');
    const outcome: BackendOutcome = { id, attributes: computeAttributes(created.server, await this.templates.flavor(session, flavor)), allowedActions: allowedActions(created.server) };
    const ref = writeRef(created.floatingIp === undefined ? {} : { floatingIps: [created.floatingIp] });
    if (ref !== undefined) outcome.ref = ref;
    return outcome;
  }

  /** `POST /servers`, with the floating-IP retry of the module comment. */
  async #post(server: JsonObject, entity: Entity, session: CycladesSession): Promise<{ server: JsonObject; floatingIp?: string }> {
    try {
      return { server: await this.#postOnce(server, entity, session) };
    } catch (error) {
      if (server['networks'] !== undefined || !isError(error, ['conflict'], NEEDS_FLOATING_IP)) throw error;
    }
    const ip = member(await session.post('network', '/floatingips', { floatingip: { project: server['project'] } }), 'floatingip', 'a floating IP allocation');
    const ipId = idField(ip, 'id');
    try {
      const created = await this.#postOnce(server, entity, session);
      return ipId === undefined ? { server: created } : { server: created, floatingIp: ipId };
    } catch (error) {
      // Give back the address allocated for this attempt only.
      if (ipId !== undefined) await releaseFloatingIps([ipId], session, 'after a failed create');
      throw error;
    }
  }

  /**
   * One `POST /servers`. When its answer is lost (timeout, 5xx), Cyclades may have made the server
   * all the same: the user's servers are searched for the one marked with this entity's id, which
   * is adopted (the create succeeds with it). Found nothing: the original error stands.
   */
  async #postOnce(server: JsonObject, entity: Entity, session: CycladesSession): Promise<JsonObject> {
    try {
      return member(await session.post('compute', '/servers', { server }), 'server', 'a server creation');
    } catch (error) {
      if (!isLostAnswer(error)) throw error;
      const found = await findAfterLoss(session, () => this.#findMarked(entity, session));
      if (found === undefined) throw error;
      this.services.warn('cyclades: adopted a server whose creation answer was lost', { backend: this.#name, server: idField(found, 'id'), error: String(error) });
      return found;
    }
  }

  /** The server this backend created for `entity`, found by its marks; undefined when there is none. */
  async #findMarked(entity: Entity, session: CycladesSession): Promise<JsonObject | undefined> {
    const servers = list(await session.get('compute', '/servers/detail'), 'servers');
    return servers.find((candidate) => !isDeleted(candidate) && isMarkedFor(candidate, entity, this.#name));
  }

  /** `GET /servers/<id>`; `'gone'` when Cyclades no longer has it (404 or DELETED) or the id is not a server id. */
  async retrieve(entity: Entity, session: CycladesSession): Promise<BackendOutcome | 'gone'> {
    const id = cycladesIdOf(entity.location);
    if (id === undefined) return 'gone';
    const server = await readServer(id, session);
    if (server === undefined) return 'gone';
    const flavorId = isObject(server['flavor']) ? idField(server['flavor'], 'id') : undefined;
    return { attributes: computeAttributes(server, flavorId === undefined ? undefined : await this.templates.flavor(session, flavorId)), allowedActions: allowedActions(server) };
  }

  /** The current attributes, for outcomes of changes; a server gone meanwhile is `not-found`. */
  async #current(entity: Entity, id: string, session: CycladesSession): Promise<BackendOutcome> {
    const outcome = await this.retrieve(entity, session);
    if (outcome === 'gone') throw new OcciError('not-found', `Cyclades no longer has server ${id}`);
    return outcome;
  }

  #requireId(entity: Entity): string {
    const id = cycladesIdOf(entity.location);
    if (id === undefined) throw new OcciError('not-found', `${entity.location} is not a Cyclades server (its id is not a server id)`);
    return id;
  }

  /**
   * Update and replace: a different resource_tpl is a resize (`{"resize":{"flavorRef":N}}`, which
   * Cyclades allows on STOPPED servers only), a different title a rename (`PUT /servers/<id>`). A
   * different os_tpl would be a rebuild, which Cyclades does not offer. Other attribute changes
   * (cores, memory, hostname) are not Cyclades settings; the next read shows Cyclades' values.
   */
  async change(before: Entity, after: Entity, session: CycladesSession): Promise<BackendOutcome> {
    const id = this.#requireId(before);
    const was = templateTerms(this.#name, await this.templates.resolveNames(session, before.mixins));
    const now = templateTerms(this.#name, await this.templates.resolveNames(session, after.mixins));
    if (now.images.length > 0 && now.images.join() !== was.images.join()) throw notImplemented(this.#name, 'changing the os_tpl of a compute (Cyclades cannot rebuild a server)');
    if (now.flavors.length > 1) throw new ValidationError(`a compute may have only one resource_tpl mixin of backend "${this.#name}"`, [{ pointer: '/mixins', message: 'more than one resource_tpl' }]);
    const flavor = now.flavors[0];
    if (flavor !== undefined && flavor !== was.flavors[0]) {
      if (!/^\d+$/.test(flavor)) throw new ValidationError(`resource_tpl "${flavor}" is not a Cyclades flavor id`, [{ pointer: '/mixins', message: 'not a flavor id' }]);
      await whenIdle(id, session, () => session.post('compute', `/servers/${id}/action`, { resize: { flavorRef: Number(flavor) } }));
    }
    if (after.title !== undefined && after.title !== before.title) await session.put('compute', `/servers/${id}`, { server: { name: after.title } });
    return this.#current(after, id, session);
  }

  /**
   * Teardown, in Cyclades' order: wait for the server's pending job; detach every volume other
   * than the root one, one job at a time (Cyclades deletes the volumes still attached to a
   * deleted server, and a storage entity must outlive its compute); then `DELETE /servers/<id>`.
   * Each wait is bounded by `timeoutMs`. A server Cyclades no longer has counts as deleted.
   * Cyclades keeps the floating IPs of a deleted server's ports allocated to the user: the one
   * ocni allocated for this server is released once the server is gone (unless
   * `keepFloatingIps`); when that takes longer than `timeoutMs` it is logged and left (drift
   * lists it).
   */
  async delete(entity: Entity, session: CycladesSession): Promise<void> {
    const id = cycladesIdOf(entity.location);
    if (id === undefined) return;
    let server = await serverIdle(id, session);
    if (server !== undefined && text(server, 'status') !== 'BUILD') {
      for (const volumeId of extraVolumes(server)) {
        await whenIdle(id, session, () =>
          deleteIgnoringGone(() => session.delete('compute', `/servers/${id}/os-volume_attachments/${volumeId}`), /has been deleted|already detached|is not attached|root volume/i),
        );
        server = await serverIdle(id, session);
      }
    }
    if (server !== undefined) await deleteIgnoringGone(() => session.delete('compute', `/servers/${id}`));
    const ips = readRef(entity).floatingIps ?? [];
    if (ips.length === 0 || this.services.options.keepFloatingIps) return;
    try {
      await serverGone(id, session);
    } catch (error) {
      this.services.warn('cyclades: a deleted server outlived the wait; its floating IP is kept', { backend: this.#name, server: id, floatingIps: ips, error: String(error) });
      return;
    }
    await releaseFloatingIps(ips, session, 'of a deleted compute');
  }

  /**
   * start → `{"start":{}}`, stop → `{"shutdown":{}}` (Cyclades has one way to stop, so every
   * `method` maps to it), restart → `{"reboot":{"type":"SOFT"}}` (every `method`: the OCCI default
   * `cold` would otherwise turn every restart into a hard reset). suspend and save have no
   * Cyclades counterpart. The outcome is what Cyclades says right after (e.g. still `active` with
   * message `STOPPING`).
   */
  async action(entity: Entity, actionId: string, session: CycladesSession): Promise<BackendOutcome> {
    const id = this.#requireId(entity);
    const body = ((): JsonObject => {
      switch (actionId) {
        case `${COMPUTE_ACTION}start`:
          return { start: {} };
        case `${COMPUTE_ACTION}stop`:
          return { shutdown: {} };
        case `${COMPUTE_ACTION}restart`:
          return { reboot: { type: 'SOFT' } };
        case `${COMPUTE_ACTION}suspend`:
          throw notImplemented(this.#name, 'suspending a compute (Cyclades does not let users suspend servers)');
        case `${COMPUTE_ACTION}save`:
          throw notImplemented(this.#name, 'saving a compute as an image');
        default:
          throw notImplemented(this.#name, `the action ${actionId} on a compute`);
      }
    })();
    await whenIdle(id, session, () => session.post('compute', `/servers/${id}/action`, body));
    return this.#current(entity, id, session);
  }
}
