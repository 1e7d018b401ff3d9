/**
 * `GET|POST /oauth2/authorize`: the authorization code flow (RFC 6749 section 4.1, OIDC Core
 * 3.1, SMART App Launch with `authorize-post`). A browser's GET, when the web app is served,
 * is checked and then sent to the app's `/oauth` page with the checked parameters; that page
 * signs in through `/auth/login` (which checks the request again) and `/oauth2/client-info`
 * (authorize-client-info.ts). Otherwise, and for POST (a redirect would put the form's
 * parameters in a URL, which authorize-post exists to avoid), four requests share the path:
 *  1. the authorization request (GET query or POST form): checked, then the sign-in page;
 *  2. the sign-in form (`_form=sign-in`): password, then the next step;
 *  3. the TOTP form (`_form=mfa`) for MFA-enrolled users, then the next step;
 *  4. the membership choice (`_form=choose`); the last step is a redirect with the code.
 * Forms 2 to 4 must come from this server's page: same Origin when the browser names one,
 * and a form token bound to the browser's cookie (authorize-form-token.ts). Every answer is a
 * page or a redirect to the validated redirect URI, never a redirect anywhere else.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../auth/auth-errors.js';
import { ThrottledError } from '../auth/throttle.js';
import { OutcomeError } from '../fhir/outcomes.js';
import { webAppServesBrowser } from '../http/web-app.js';
import { clientInfoRoutes } from './authorize-client-info.js';
import { csrfCookie, readCsrfCookie, signFormToken, verifyFormToken, type FormPurpose } from './authorize-form-token.js';
import { AuthorizePageError, AuthorizeRedirectError, buildRedirect, checkAuthorizeRequest, type AuthorizeRequest } from './authorize-request.js';
import { chooseForAuthorization, choicesOfLogin, signInForAuthorization, verifyMfaForAuthorization, type ClientMeta, type SignInStep } from './authorize-sign-in.js';
import { parseFormText, readForm } from './form-request.js';
import type { GrantDeps } from './grant-context.js';
import { renderChoosePage, renderErrorPage, renderMfaPage, renderSignInPage, type Page } from './sign-in-page.js';

type Params = Record<string, string>;
type Step = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** A failure of a form step shown on the same form again (wrong password, wrong code, throttled). */
function formFailure(err: unknown): OutcomeError | undefined {
  return err instanceof OutcomeError && err.status < 500 ? err : undefined;
}

export async function authorizeRoutes(app: FastifyInstance, options: { deps: GrantDeps }): Promise<void> {
  const { deps } = options;
  const issuer = deps.issuer;
  const ourOrigin = new URL(issuer).origin;

  // A browser sends `Origin: null` on a form POST from a `no-referrer` page (Fetch, "append a
  // request Origin header"); these pages use `same-origin` so the Origin check below can work.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) reply.header('Referrer-Policy', 'same-origin');
    return payload;
  });

  const sendPage = (reply: FastifyReply, page: Page, status: number, err?: OutcomeError): void => {
    if (err instanceof ThrottledError) reply.header('Retry-After', String(err.retryAfterSeconds));
    reply.status(status).header('Content-Security-Policy', page.csp).type('text/html; charset=utf-8').send(page.html);
  };
  const redirect = (reply: FastifyReply, request: FastifyRequest, location: string): void => {
    // 303 after a form POST, so the browser follows with a GET (RFC 9110 section 15.4.4).
    reply.status(request.method === 'POST' ? 303 : 302).header('Location', location).send();
  };

  /** Runs a step, turning its failures into the page or redirect they call for. */
  const run = (step: Step): Step => async (request, reply) => {
    try {
      await step(request, reply);
    } catch (err) {
      if (err instanceof AuthorizeRedirectError) {
        redirect(reply, request, buildRedirect(err.redirectUri, issuer, { error: err.error, error_description: err.description, state: err.state }));
      } else if (err instanceof AuthorizePageError) {
        sendPage(reply, renderErrorPage(err.message), err.status);
      } else if (err instanceof OAuthError) {
        sendPage(reply, renderErrorPage(err.description), 400);
      } else {
        throw err;
      }
    }
  };

  /** A form token for this browser, (re)setting its CSRF cookie so it outlives the token. */
  const formToken = async (request: FastifyRequest, reply: FastifyReply, purpose: FormPurpose, authz: AuthorizeRequest, login?: string): Promise<string> => {
    const cookie = csrfCookie(issuer, readCsrfCookie(request, issuer));
    reply.header('Set-Cookie', cookie.header);
    return signFormToken(deps, cookie.value, { purpose, request: authz.params, ...(login ? { login } : {}) });
  };

  const page = (authz: AuthorizeRequest, token: string, err?: OutcomeError) => ({
    clientName: authz.client.name?.trim() || 'the application',
    formToken: token,
    redirectUri: authz.redirectUri,
    ...(err ? { error: err.message } : {}),
  });

  const showSignIn = async (request: FastifyRequest, reply: FastifyReply, authz: AuthorizeRequest, err?: OutcomeError, email?: string): Promise<void> => {
    const shownEmail = email ?? authz.loginHint;
    const input = { ...page(authz, await formToken(request, reply, 'sign-in', authz), err), ...(shownEmail ? { email: shownEmail } : {}) };
    sendPage(reply, renderSignInPage(input), err?.status ?? 200, err);
  };

  /** After a successful step: the code back to the client, or the next form. */
  const continueWith = async (request: FastifyRequest, reply: FastifyReply, authz: AuthorizeRequest, step: SignInStep, err?: OutcomeError): Promise<void> => {
    if ('code' in step) {
      redirect(reply, request, buildRedirect(authz.redirectUri, issuer, { code: step.code, state: authz.state }));
    } else if ('mfa' in step) {
      sendPage(reply, renderMfaPage(page(authz, await formToken(request, reply, 'mfa', authz, step.login), err)), err?.status ?? 200, err);
    } else {
      const token = await formToken(request, reply, 'choose', authz, step.login);
      sendPage(reply, renderChoosePage({ ...page(authz, token, err), choices: step.choices }), err?.status ?? 200, err);
    }
  };

  /** A form of ours: same origin when the browser says, and a token bound to this browser's cookie. */
  const trustForm = async (request: FastifyRequest, params: Params, purpose: FormPurpose): Promise<{ authz: AuthorizeRequest; login: string }> => {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== ourOrigin) throw new AuthorizePageError('This form was sent from another site.', 403);
    const claims = await verifyFormToken(deps, params.csrf_token, readCsrfCookie(request, issuer), purpose);
    if (!claims) throw new AuthorizePageError('This sign-in form has expired or was not sent from this page. Return to the application and start again.', 403);
    if (purpose !== 'sign-in' && !claims.login) throw new AuthorizePageError('This form is incomplete. Return to the application and start again.');
    // The client or its redirect URIs may have changed since the page was shown: check again.
    return { authz: await checkAuthorizeRequest(deps, claims.request), login: claims.login ?? '' };
  };

  const signIn = async (request: FastifyRequest, reply: FastifyReply, params: Params): Promise<void> => {
    const { authz } = await trustForm(request, params, 'sign-in');
    const email = (params.email ?? '').trim().toLowerCase().slice(0, 254);
    try {
      await continueWith(request, reply, authz, await signInForAuthorization(deps, authz, email, (params.password ?? '').slice(0, 1024), clientMeta(request)));
    } catch (err) {
      const failure = formFailure(err);
      if (!failure) throw err;
      await showSignIn(request, reply, authz, failure, email);
    }
  };

  const verifyMfa = async (request: FastifyRequest, reply: FastifyReply, params: Params): Promise<void> => {
    const { authz, login } = await trustForm(request, params, 'mfa');
    try {
      await continueWith(request, reply, authz, await verifyMfaForAuthorization(deps, authz, login, (params.token ?? '').slice(0, 16), clientMeta(request)));
    } catch (err) {
      const failure = formFailure(err);
      if (!failure) throw err;
      if (failure.outcome.issue?.[0]?.expression?.[0] === 'login') throw new AuthorizePageError(`${failure.message}. Return to the application and start again.`);
      await continueWith(request, reply, authz, { login, mfa: true }, failure);
    }
  };

  const choose = async (request: FastifyRequest, reply: FastifyReply, params: Params): Promise<void> => {
    const { authz, login } = await trustForm(request, params, 'choose');
    try {
      await continueWith(request, reply, authz, await chooseForAuthorization(deps, authz, login, params.membership ?? '', clientMeta(request)));
    } catch (err) {
      const failure = formFailure(err);
      if (!failure) throw err;
      if (failure.outcome.issue?.[0]?.expression?.[0] === 'login') throw new AuthorizePageError(`${failure.message}. Return to the application and start again.`);
      await continueWith(request, reply, authz, { login, choices: await choicesOfLogin(deps, authz, login) }, failure);
    }
  };

  const forms: Record<string, (request: FastifyRequest, reply: FastifyReply, params: Params) => Promise<void>> = { 'sign-in': signIn, mfa: verifyMfa, choose };

  app.get(
    '/authorize',
    run(async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      const authz = await checkAuthorizeRequest(deps, parseFormText(query));
      if (webAppServesBrowser(request)) {
        // Only the checked parameters travel on: the page shows and sends what was checked here.
        reply.header('Cache-Control', 'no-store');
        return redirect(reply, request, `${issuer}oauth?${new URLSearchParams(authz.params).toString()}`);
      }
      await showSignIn(request, reply, authz);
    }),
  );

  await app.register(clientInfoRoutes, { deps });

  app.post(
    '/authorize',
    run(async (request, reply) => {
      const params = readForm(request);
      const form = params._form !== undefined && Object.hasOwn(forms, params._form) ? forms[params._form] : undefined;
      if (form) return form(request, reply, params);
      // SMART `authorize-post`: the authorization request itself, sent as a form.
      return showSignIn(request, reply, await checkAuthorizeRequest(deps, params));
    }),
  );
}

function clientMeta(request: FastifyRequest): ClientMeta {
  const ua = request.headers['user-agent'];
  return { remoteAddress: request.ip, ...(ua ? { userAgent: ua } : {}) };
}
