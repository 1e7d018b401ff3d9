/** Headers on every response: no caching of health data, no framing, no sniffing, no referrer. */
import type { FastifyInstance } from 'fastify';

export function registerSecurityHeaders(app: FastifyInstance, baseUrl: string): void {
  const https = baseUrl.startsWith('https:');
  app.addHook('onSend', async (_request, reply, payload) => {
    // A route may say otherwise (the web app's content-hashed files are cached for good).
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'no-referrer');
    if (https) {
      reply.header('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    }
    return payload;
  });
}
