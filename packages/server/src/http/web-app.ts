/**
 * Serves the built web app (packages/app/dist) at `/`: its files as they are, and index.html
 * for a browser's GET of one of the app's pages that no API route handles (`/signin`,
 * `/admin/members/:id`, ...), so a reload or a link from a mail opens the right page.
 *
 * It deliberately does not answer API paths or non-HTML requests: those go to the server's
 * 404 OperationOutcome (`reply.callNotFound()`), so `GET /admin/projects/x/nothing` from a
 * client stays a FHIR error and never becomes a web page. Without a build it still runs and
 * answers `/` with how to make one. Other routes ask `webAppServesBrowser(request)` whether to
 * send a browser to one of the app's pages (`/oauth2/authorize` sends it to `/oauth`).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build -w @tessera/app` writes the app. */
export const DEFAULT_WEB_APP_DIR = fileURLToPath(new URL('../../../app/dist/', import.meta.url));

/**
 * The app loads only its own files and talks only to this origin. Mantine writes its theme
 * variables into <style> elements at run time, hence 'unsafe-inline' for styles (not for
 * scripts: the build has no inline script).
 */
export const WEB_APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The routes the app answers: its files, and its pages' shapes (packages/app/src/App.tsx).
 * API routes are static paths and win over these parametric ones.
 */
const APP_PATHS = ['/', '/assets/*', '/:page', '/:resourceType/:id', '/setpassword/:id/:secret', '/admin/:tab', '/admin/members/:id', '/admin/policies/:id'];

/** Paths that belong to the API: never answered with the app. */
const API_PREFIXES = ['/fhir/', '/auth/', '/oauth2/', '/admin/projects/', '/admin/super/', '/.well-known/', '/healthz'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

const NOT_BUILT = [
  'Tessera is running. The web app has not been built yet:',
  '',
  '  npm run build -w @tessera/app',
  '',
  'then reload this page. The FHIR API is at /fhir/R4 and the server status at /healthz.',
  '',
].join('\n');

export interface WebAppOptions {
  /** The built app's folder; DEFAULT_WEB_APP_DIR unless a test or deployment says otherwise. */
  dir?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Set by registerWebApp: whether the built app is there to be served. */
    webAppBuilt?: () => boolean;
  }
}

function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

/**
 * Whether this request is a browser's (it asks for HTML) and the built app is served, so that
 * it may be sent to one of the app's pages. The answer is read through `request.server`: the
 * decoration is made on the root instance, which every plugin's instance inherits from, even
 * those registered before it. False without the app, so callers keep their own fallback.
 */
export function webAppServesBrowser(request: FastifyRequest): boolean {
  return wantsHtml(request) && (request.server.webAppBuilt?.() ?? false);
}

/** The file under `root` that `urlPath` names, or undefined (missing, a folder, or outside root). */
function findFile(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const file = resolve(root, `.${decoded}`);
  if (!file.startsWith(root + sep)) return undefined;
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

function sendFile(reply: FastifyReply, file: string, immutable: boolean): FastifyReply {
  const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  reply.type(type);
  if (type.startsWith('text/html')) reply.header('Content-Security-Policy', WEB_APP_CSP);
  // Vite puts a content hash in every name under assets/, so those never change.
  if (immutable) reply.header('Cache-Control', 'public, max-age=31536000, immutable');
  return reply.send(createReadStream(file));
}

export function registerWebApp(app: FastifyInstance, options: WebAppOptions = {}): void {
  const root = resolve(options.dir ?? DEFAULT_WEB_APP_DIR);
  const index = resolve(root, 'index.html');
  // Checked on each call, like the handler below: a build made while the server runs is served.
  app.decorate('webAppBuilt', () => existsSync(index));

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '/';
    if (API_PREFIXES.some((p) => path.startsWith(p))) return reply.callNotFound();
    const built = existsSync(index);
    if (!built) {
      if (path === '/' || (wantsHtml(request) && !extname(path))) {
        return reply.type('text/plain; charset=utf-8').send(NOT_BUILT);
      }
      return reply.callNotFound();
    }
    const file = path === '/' ? undefined : findFile(root, path);
    if (file) return sendFile(reply, file, path.startsWith('/assets/'));
    // A browser opening one of the app's pages: the app decides what to show.
    if (path === '/' || (wantsHtml(request) && !extname(path))) return sendFile(reply, index, false);
    return reply.callNotFound();
  };

  // The app's own paths only, not a catch-all `/*`: a wildcard would also catch what the API's
  // routes refuse while routing (a path segment over maxParamLength is a 400 there, not a page).
  for (const path of APP_PATHS) app.get(path, handler);
}
