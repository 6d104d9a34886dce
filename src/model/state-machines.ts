/**
 * @module The OCCI Infrastructure state machines (GFD.224, with the 1.1 storage actions): which
 * state attribute an action reads, the states it applies in, and the state it leaves. This is the
 * local behaviour of actions until a kind is routed to another backend.
 */

/** One action's transition. */
export interface Transition {
  /** The attribute that holds the state, e.g. `occi.compute.state`. */
  attribute: string;
  /** States in which the action applies. */
  from: readonly string[];
  /** The state after the action. */
  to: string;
}

const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure/compute/action#';
const NETWORK = 'http://schemas.ogf.org/occi/infrastructure/network/action#';
const STORAGE = 'http://schemas.ogf.org/occi/infrastructure/storage/action#';
const NETWORKINTERFACE = 'http://schemas.ogf.org/occi/infrastructure/networkinterface/action#';
const STORAGELINK = 'http://schemas.ogf.org/occi/infrastructure/storagelink/action#';

/** Transitions by action identifier. */
export const TRANSITIONS: ReadonlyMap<string, Transition> = new Map([
  [`${COMPUTE}start`, { attribute: 'occi.compute.state', from: ['inactive', 'suspended'], to: 'active' }],
  [`${COMPUTE}stop`, { attribute: 'occi.compute.state', from: ['active'], to: 'inactive' }],
  [`${COMPUTE}restart`, { attribute: 'occi.compute.state', from: ['active'], to: 'active' }],
  [`${COMPUTE}suspend`, { attribute: 'occi.compute.state', from: ['active'], to: 'suspended' }],
  [`${COMPUTE}save`, { attribute: 'occi.compute.state', from: ['active'], to: 'active' }],
  [`${NETWORK}up`, { attribute: 'occi.network.state', from: ['inactive'], to: 'active' }],
  [`${NETWORK}down`, { attribute: 'occi.network.state', from: ['active'], to: 'inactive' }],
  [`${STORAGE}online`, { attribute: 'occi.storage.state', from: ['offline'], to: 'online' }],
  [`${STORAGE}offline`, { attribute: 'occi.storage.state', from: ['online'], to: 'offline' }],
  // OCCI 1.1: backup, snapshot and resize pass through their own state and complete back to online;
  // locally they complete at once.
  [`${STORAGE}backup`, { attribute: 'occi.storage.state', from: ['online'], to: 'online' }],
  [`${STORAGE}snapshot`, { attribute: 'occi.storage.state', from: ['online'], to: 'online' }],
  [`${STORAGE}resize`, { attribute: 'occi.storage.state', from: ['online', 'offline'], to: 'online' }],
  [`${NETWORKINTERFACE}up`, { attribute: 'occi.networkinterface.state', from: ['inactive'], to: 'active' }],
  [`${NETWORKINTERFACE}down`, { attribute: 'occi.networkinterface.state', from: ['active'], to: 'inactive' }],
  [`${STORAGELINK}online`, { attribute: 'occi.storagelink.state', from: ['inactive'], to: 'active' }],
  [`${STORAGELINK}offline`, { attribute: 'occi.storagelink.state', from: ['active'], to: 'inactive' }],
]);

/** Attribute changes an action makes besides the state: resize sets the new size. */
export function actionEffects(actionId: string, parameters: Record<string, unknown>): Record<string, unknown> {
  if (actionId === `${STORAGE}resize` && typeof parameters.size === 'number') return { 'occi.storage.size': parameters.size };
  return {};
}

/**
 * The attributes the state machines drive, and their messages: server-managed (GFD.221: an
 * immutable attribute is the server's), so a client's value at creation is ignored and the
 * kind's initial state (its default) applies.
 */
export const SERVER_STATE_ATTRIBUTES: readonly string[] = [...new Set([...TRANSITIONS.values()].flatMap((t) => [t.attribute, `${t.attribute}.message`]))];
