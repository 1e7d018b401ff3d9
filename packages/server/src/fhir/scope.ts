/**
 * A `Scope` says which tenant a storage call acts in, and whether access policies apply.
 * Every `ResourceStore` method takes one first, and a Scope can only be made by the two
 * factories below (its brand is not exported), so "forgot the tenant" is a type error.
 * `systemScope` is for the server's own work (sign-in, bootstrap, invite) and is easy to grep.
 */
declare const scopeBrand: unique symbol;

export interface Scope {
  readonly [scopeBrand]: true;
  /** The project (tenant) every read and write is confined to. */
  readonly projectId: string;
  /** True for the server's own work: no member's access policy applies. */
  readonly system: boolean;
}

/** The project that holds server-wide resources: server-scoped Users, Logins. Never a member's project. */
export const SYSTEM_PROJECT_ID = '00000000-0000-0000-0000-000000000000';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function makeScope(projectId: string, system: boolean): Scope {
  if (!UUID.test(projectId)) {
    throw new Error(`Scope needs a project uuid, got ${JSON.stringify(projectId)}`);
  }
  return Object.freeze({ projectId: projectId.toLowerCase(), system }) as Scope;
}

/** The scope of a member's request: one project, under that member's policies. */
export function projectScope(projectId: string): Scope {
  return makeScope(projectId, false);
}

/** The server acting for itself inside one project. Not to be handed to routes that serve users. */
export function systemScope(projectId: string): Scope {
  return makeScope(projectId, true);
}
