/**
 * When the mail server is down: the invite still stands (the membership exists, the answer is
 * 200 with the membership and `X-Tessera-Email: not-sent`), and once the mail server is up
 * `resend-invite` mails a new link, which works, while the older links stop working. Also the
 * resend's refusals (a password already set, an unknown or foreign membership, a non-admin)
 * and the invite link's expiry.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exchangeCode, pkce, post, uniqueEmail } from './auth-client.js';
import { expectOutcome } from './expect-outcome.js';
import { createMember, fhirClient, type TestMember } from './factories.js';
import { freePort, startTestServer, type TestServer } from './harness.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';
import { EmailOutbox } from '../src/email/outbox.js';

const PASSWORD = 'the invitee chose this passphrase';

async function adminPost(server: TestServer, token: string, path: string, body?: unknown) {
  const res = await fetch(new URL(path, server.baseUrl), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** A mail server "coming up" on a port the Tessera server already points at: TCP forwarded to the sink. */
async function forward(port: number, to: number): Promise<Server & { sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const srv = createServer((client) => {
    const upstream = connect(to, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  return Object.assign(srv, { sockets });
}

const linkParts = (url: string, base: string): { id: string; secret: string } => {
  const [id, secret] = url.slice(`${base}setpassword/`.length).split('/');
  return { id: id as string, secret: secret as string };
};

describe('invite when the mail server fails, and resend-invite', () => {
  let server: TestServer;
  let admin: TestMember;
  let smtpPort: number;
  let sink: SmtpSink | undefined;
  let forwarder: (Server & { sockets: Set<Socket> }) | undefined;

  before(async () => {
    smtpPort = await freePort(); // nothing listens there yet
    server = await startTestServer({ env: { SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, INVITE_LINK_LIFETIME_SECONDS: '86400' } });
    admin = await createMember(server);
  });
  after(async () => {
    await server.close();
    if (forwarder) {
      for (const s of forwarder.sockets) s.destroy();
      await new Promise((resolve) => forwarder?.close(resolve));
    }
    await sink?.close();
  });

  const resend = (membershipId: string, member: TestMember = admin) => adminPost(server, member.token, `admin/projects/${member.projectId}/members/${membershipId}/resend-invite`);

  it('keeps the invite when the mail cannot be sent, says so, and resends once the mail server is up', async () => {
    const email = uniqueEmail('offline');
    const res = await adminPost(server, admin.token, `admin/projects/${admin.projectId}/invite`, { resourceType: 'Practitioner', firstName: 'Moe', lastName: 'Szyslak', email });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.resourceType, 'ProjectMembership');
    assert.equal(res.headers.get('x-tessera-email'), 'not-sent');
    const fhir = fhirClient(server, admin.token);
    assert.equal((await fhir.get(`ProjectMembership/${res.body.id}`)).status, 200, 'the membership stands');

    // The failed mail is kept in the outbox with its link; a resend retires that link.
    const [kept] = await new EmailOutbox(server.deps).list({ limit: 1, to: email });
    assert.equal(kept?.status, 'smtp_failed');
    const firstUrl = kept.text.match(/https?:\/\/\S+\/setpassword\/\S+/)?.[0];
    assert.ok(firstUrl, kept.text);

    // While the server is still down, a resend makes a new link but says the mail did not go.
    const down = await resend(res.body.id);
    assert.equal(down.status, 200, JSON.stringify(down.body));
    assert.equal(down.headers.get('x-tessera-email'), 'not-sent');
    assert.equal(down.body.issue[0].severity, 'warning');

    sink = await startSmtpSink();
    forwarder = await forward(smtpPort, sink.port);
    const up = await resend(res.body.id);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.headers.get('x-tessera-email'), 'sent');
    const mail = await sink.waitForMail((m) => m.envelopeTo.includes(email));
    const url = mail.links.find((l) => l.includes('/setpassword/'));
    assert.ok(url, mail.text);

    const old = linkParts(firstUrl, server.baseUrl);
    const refusedOld = await post(server, 'auth/setpassword', { ...old, password: PASSWORD });
    assert.equal(refusedOld.status, 400, 'the first link stopped working');
    const set = await post(server, 'auth/setpassword', { ...linkParts(url, server.baseUrl), password: PASSWORD });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const { verifier, challenge } = pkce();
    const login = await post(server, 'auth/login', { email, password: PASSWORD, codeChallenge: challenge, codeChallengeMethod: 'S256' });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.ok((await exchangeCode(server, login.body.code, verifier)).accessToken);

    // Each resend is in the audit log.
    const audit = await fhir.get(`AuditEvent?entity=ProjectMembership/${res.body.id}`);
    const codes = (audit.body.entry ?? [])
      .map((e: any) => e.resource.subtype[0].code)
      .filter((c: string) => c.startsWith('invite'))
      .sort();
    assert.deepEqual(codes, ['invite', 'invite-resend', 'invite-resend']);

    // Once the password is set there is nothing to resend.
    const after = await resend(res.body.id);
    expectOutcome(after, 409);
  });

  it('answers 404 for an unknown membership and for one of another project, 403 to a non-admin', async () => {
    expectOutcome(await resend('00000000-0000-4000-8000-000000000000'), 404);
    expectOutcome(await resend('not a valid id!'), 404);
    const other = await createMember(server);
    expectOutcome(await resend(other.membershipId), 404);
    const member = await createMember(server, { projectId: admin.projectId, admin: false });
    expectOutcome(await resend(admin.membershipId, member), 403);
  });

  it('the invite link works until it expires (INVITE_LINK_LIFETIME_SECONDS), then not', async () => {
    const email = uniqueEmail('late');
    const res = await adminPost(server, admin.token, `admin/projects/${admin.projectId}/invite`, { resourceType: 'Practitioner', firstName: 'Late', lastName: 'Comer', email });
    assert.equal(res.status, 200);
    assert.ok(sink, 'the mail server is up (previous test)');
    const mail = await sink.waitForMail((m) => m.envelopeTo.includes(email));
    assert.match(mail.text, /within 1 day/);
    const url = mail.links.find((l) => l.includes('/setpassword/')) as string;
    server.clock.advance(86_400_000 + 1000);
    const late = await post(server, 'auth/setpassword', { ...linkParts(url, server.baseUrl), password: PASSWORD });
    assert.equal(late.status, 400, JSON.stringify(late.body));
    assert.deepEqual(late.body.issue[0].expression, ['id']);
  });
});
