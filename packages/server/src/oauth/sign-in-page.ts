/**
 * The server-rendered pages of `/oauth2/authorize`: sign in, MFA code, choose a membership, and the
 * error page shown when the request cannot be sent back to the client. Plain HTML with one
 * inline stylesheet allowed by its hash, no script, no external asset, under a CSP that lets
 * the form post only to this server and, after it, redirect only to the client's redirect
 * URI's origin. Every value is HTML-escaped. A browser is sent to the web app's `/oauth` page
 * instead when the app is built (authorize-route.ts); these pages remain for a server without
 * the app, for authorize-post, and for clients that do not ask for HTML.
 */
import { createHash } from 'node:crypto';

const STYLE =
  'body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;color:#1d2330}' +
  'main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px #0002}' +
  'h1{font-size:1.25rem;margin:0 0 1rem}label{display:block;margin:.75rem 0 .25rem}' +
  'input[type=email],input[type=password],#token{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}' +
  'button{margin-top:1.25rem;width:100%;padding:.6rem;font-size:1rem}' +
  '.error{color:#a4001c;background:#fde8ec;padding:.5rem;border-radius:4px}' +
  '.choice{display:flex;gap:.5rem;align-items:center;margin:.5rem 0}';
const STYLE_HASH = createHash('sha256').update(STYLE, 'utf8').digest('base64');

export interface Page {
  html: string;
  csp: string;
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** CSP `form-action` allows where the browser may go after a POST: here, then the client. */
function contentSecurityPolicy(redirectUri?: string): string {
  let target = '';
  if (redirectUri) {
    const url = new URL(redirectUri);
    target = url.protocol === 'http:' || url.protocol === 'https:' ? ` ${url.origin}` : ` ${url.protocol}`;
  }
  return [
    "default-src 'none'",
    `style-src 'sha256-${STYLE_HASH}'`,
    `form-action 'self'${target}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

function layout(title: string, body: string, redirectUri?: string): Page {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
  return { html, csp: contentSecurityPolicy(redirectUri) };
}

const errorBox = (error?: string): string => (error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '');

export interface SignInPageInput {
  clientName: string;
  formToken: string;
  redirectUri: string;
  email?: string;
  error?: string;
}

export function renderSignInPage(input: SignInPageInput): Page {
  return layout(
    `Sign in to ${input.clientName}`,
    `<h1>Sign in to ${escapeHtml(input.clientName)}</h1>${errorBox(input.error)}
<form method="post" action="authorize">
<input type="hidden" name="_form" value="sign-in"><input type="hidden" name="csrf_token" value="${escapeHtml(input.formToken)}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(input.email ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`,
    input.redirectUri,
  );
}

export interface ChoosePageInput {
  clientName: string;
  formToken: string;
  redirectUri: string;
  choices: Array<{ id: string; label: string }>;
  error?: string;
}

export function renderChoosePage(input: ChoosePageInput): Page {
  const choices = input.choices
    .map(
      (c, i) =>
        `<div class="choice"><input type="radio" id="m${i}" name="membership" value="${escapeHtml(c.id)}"${i === 0 ? ' checked' : ''}><label for="m${i}">${escapeHtml(c.label)}</label></div>`,
    )
    .join('\n');
  return layout(
    `Choose a profile for ${input.clientName}`,
    `<h1>Continue to ${escapeHtml(input.clientName)} as</h1>${errorBox(input.error)}
<form method="post" action="authorize">
<input type="hidden" name="_form" value="choose"><input type="hidden" name="csrf_token" value="${escapeHtml(input.formToken)}">
${choices}
<button type="submit">Continue</button></form>`,
    input.redirectUri,
  );
}

export interface MfaPageInput {
  clientName: string;
  formToken: string;
  redirectUri: string;
  error?: string;
}

export function renderMfaPage(input: MfaPageInput): Page {
  return layout(
    `Verify your sign-in to ${input.clientName}`,
    `<h1>Enter the code from your authenticator app</h1>${errorBox(input.error)}
<form method="post" action="authorize">
<input type="hidden" name="_form" value="mfa"><input type="hidden" name="csrf_token" value="${escapeHtml(input.formToken)}">
<label for="token">Code</label><input id="token" name="token" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,8}" required>
<button type="submit">Verify</button></form>`,
    input.redirectUri,
  );
}

export function renderErrorPage(message: string): Page {
  return layout('Sign-in error', `<h1>Sign-in error</h1>${errorBox(message)}<p>Return to the application and try again.</p>`);
}
