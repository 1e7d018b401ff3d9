/**
 * The `/oauth` page's helpers: the checked request as `/oauth2/client-info` answers it, the
 * scopes in plain words, the email a `login_hint` pre-fills, and the address the browser is
 * sent back to. That address is always the redirect URI the server confirmed for the client
 * (and bound the code to), never one read from this page's own URL alone.
 */

/** `/oauth2/client-info`'s answer: the server's check of the authorization request. */
export interface ClientInfo {
  client_id: string;
  client_name: string;
  redirect_uri: string;
  scope: string;
  issuer: string;
}

const ACTION_WORDS: Record<string, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };

/** SMART v1 (`read`, `write`, `*`) and v2 (`cruds` letters) permissions as verbs. */
function actionsOf(permission: string): string[] | undefined {
  if (permission === 'read') return ['read', 'search'];
  if (permission === 'write') return ['create', 'update', 'delete'];
  if (permission === '*') return ['create', 'read', 'update', 'delete', 'search'];
  if (!/^c?r?u?d?s?$/.test(permission) || permission === '') return undefined;
  return [...permission].map((letter) => ACTION_WORDS[letter] as string);
}

function joinWords(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

const CONTEXT_WORDS: Record<string, string> = {
  user: 'that your account can access',
  patient: 'about the selected patient',
  system: 'in the whole project',
};

const IDENTITY_WORDS: Record<string, string> = {
  openid: 'Confirm who you are',
  profile: 'See your name',
  email: 'See your email address',
  fhirUser: 'See which profile record is yours',
  offline_access: 'Stay signed in after you leave it (it gets a refresh token)',
  offline: 'Stay signed in after you leave it (it gets a refresh token)',
  'launch/patient': 'Ask you which patient to work with',
};

/** One sentence per scope word, in the order asked, duplicates dropped. */
export function describeScopes(scope: string): string[] {
  const sentences: string[] = [];
  for (const word of scope.split(' ').filter((w) => w.length > 0)) {
    const sentence = IDENTITY_WORDS[word] ?? describeResourceScope(word) ?? `Use the permission “${word}”`;
    if (!sentences.includes(sentence)) sentences.push(sentence);
  }
  return sentences;
}

function describeResourceScope(word: string): string | undefined {
  const match = /^(user|patient|system)\/([A-Za-z]+|\*)\.([a-z*]+)$/.exec(word);
  if (!match) return undefined;
  const [, context, type, permission] = match as unknown as [string, string, string, string];
  const actions = actionsOf(permission);
  if (!actions) return undefined;
  const verbs = joinWords(actions);
  const records = type === '*' ? 'all kinds of records' : `${type} records`;
  return `${verbs.charAt(0).toUpperCase()}${verbs.slice(1)} ${records} ${CONTEXT_WORDS[context]}`;
}

/** WHATWG HTML's "valid email address", the syntax `<input type=email>` accepts. */
const VALID_EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/**
 * OIDC's `login_hint` (Core 3.1.2.1) when it is an email address of at most 254 characters,
 * else nothing (a phone number or a `sub` is not our login name). Anyone can write it into this
 * page's URL, so it only pre-fills the email field, which the user can change; the server
 * applies the same rule to its own page (packages/server/src/oauth/authorize-request.ts).
 */
export function emailFromLoginHint(hint: string | null): string | undefined {
  const email = hint?.trim() ?? '';
  return email.length <= 254 && VALID_EMAIL.test(email) ? email : undefined;
}

/**
 * Where the browser goes at the end: the confirmed redirect URI (its own query kept) with the
 * response, `state` as the client sent it, and `iss` (RFC 9207), as the server's page does.
 */
export function responseUrl(info: ClientInfo, state: string | null, response: Record<string, string>): string {
  const url = new URL(info.redirect_uri);
  for (const [name, value] of Object.entries(response)) url.searchParams.set(name, value);
  if (state !== null) url.searchParams.set('state', state);
  url.searchParams.set('iss', info.issuer);
  return url.toString();
}

/** Asks the server to check the request in this page's URL; its refusal in words, or the answer. */
export async function fetchClientInfo(search: string): Promise<ClientInfo> {
  let res: Response;
  try {
    res = await fetch(`/oauth2/client-info${search}`, { headers: { accept: 'application/json' } });
  } catch {
    throw new Error('The server could not be reached. Check your connection and try again.');
  }
  const body = (await res.json().catch(() => ({}))) as Partial<ClientInfo> & { error_description?: string };
  if (!res.ok || !body.redirect_uri) {
    throw new Error(body.error_description ?? 'This sign-in request could not be checked. Return to the application and try again.');
  }
  return body as ClientInfo;
}
