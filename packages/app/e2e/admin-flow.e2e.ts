/**
 * The web app end to end, in Chromium against a real server on a fresh database with a real
 * SMTP sink: register and create a project, invite a practitioner, open the emailed link, set
 * the password, sign in as the practitioner in a second browser context, remove the member as
 * admin and see the practitioner's next action refused, restore, and sign in again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';
import { startSmtpSink, type SmtpSink } from '../../server/test/smtp-sink.ts';
import { launchChromium, screenshot } from './browser.ts';

const ADMIN = { first: 'Ada', last: 'Admin', email: `ada.${Date.now()}@example.com`, password: 'correct horse battery 1' };
const PRACT = { first: 'Paul', last: 'Practitioner', email: `paul.${Date.now()}@example.com`, password: 'another fine password 2' };

describe('web app: register, invite, set password, remove, restore', () => {
  let server: TestServer;
  let sink: SmtpSink;
  let browser: Browser;
  let adminContext: BrowserContext;
  let practContext: BrowserContext;
  let admin: Page;
  let pract: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    sink = await startSmtpSink();
    server = await startTestServer({ env: { SMTP_URL: sink.url }, followRealTime: true });
    browser = await launchChromium();
    adminContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    practContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    adminContext.setDefaultTimeout(10_000);
    practContext.setDefaultTimeout(10_000);
    admin = await adminContext.newPage();
    pract = await practContext.newPage();
    for (const page of [admin, pract]) {
      // A CSP violation or a script error shows up here.
      page.on('console', (m) => m.type() === 'error' && !/status of 4\d\d/.test(m.text()) && consoleErrors.push(m.text()));
      page.on('pageerror', (e) => consoleErrors.push(String(e)));
    }
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await sink?.close();
  });

  it('serves the app at / and its pages to a browser, and leaves API 404s alone', async () => {
    const html = await fetch(`${server.baseUrl}admin/members/xyz`, { headers: { accept: 'text/html' } });
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await html.text(), /<div id="root">/);
    const api = await fetch(`${server.baseUrl}admin/projects/nothing/here`, { headers: { accept: 'text/html' } });
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
    const json = await fetch(`${server.baseUrl}no/such/path`, { headers: { accept: 'application/json' } });
    assert.equal(json.status, 404);
    const escape = await fetch(`${server.baseUrl}assets/%2e%2e/%2e%2e/package.json`);
    assert.equal(escape.status, 404);
    // The API's own routing errors stay what they were, even for a browser.
    const long = await fetch(`${server.baseUrl}fhir/R4/Patient/${'a'.repeat(300)}`, { headers: { accept: 'text/html' } });
    assert.equal(long.status, 400);
  });

  it('registers a user and creates a project', async () => {
    await admin.goto(`${server.baseUrl}register`);
    await admin.getByLabel('First name').fill(ADMIN.first);
    await admin.getByLabel('Last name').fill(ADMIN.last);
    await admin.getByRole('textbox', { name: 'Email' }).fill(ADMIN.email);
    await admin.getByLabel(/^Password/).fill(ADMIN.password);
    await admin.getByLabel('Project name').fill('Sunrise Clinic');
    await screenshot(admin, 'register');
    await admin.getByRole('button', { name: 'Create account and project' }).click();
    await admin.waitForURL('**/admin/project');
    await admin.getByRole('heading', { name: 'Project: Sunrise Clinic' }).waitFor();
    await admin.getByRole('table', { name: 'Project details' }).getByText('Sunrise Clinic').waitFor();
    await screenshot(admin, 'project-details');
  });

  it('invites a practitioner, who gets a set-password link by email', async () => {
    await admin.getByRole('link', { name: 'Invite' }).first().click();
    await admin.getByRole('heading', { name: 'Invite a member' }).waitFor();
    // A bad email comes back from the server and is shown beside the field.
    await admin.getByLabel('First name').fill(PRACT.first);
    await admin.getByLabel('Last name').fill(PRACT.last);
    await admin.getByRole('textbox', { name: 'Email' }).fill('not-an-email');
    await admin.getByRole('button', { name: 'Invite', exact: true }).click();
    await admin.locator('.mantine-TextInput-error').first().waitFor();
    assert.equal(await admin.getByRole('textbox', { name: 'Email' }).getAttribute('aria-invalid'), 'true');
    await admin.getByRole('textbox', { name: 'Email' }).fill(PRACT.email);
    await screenshot(admin, 'invite');
    await admin.getByRole('button', { name: 'Invite', exact: true }).click();
    await admin.getByText('User created').waitFor();
    assert.equal(sink.messages.filter((m) => m.to.includes('not-an-email')).length, 0);
  });

  it('opens the emailed link, sets a password and signs in as the practitioner (390px wide)', async () => {
    const mail = await sink.waitForMail((m) => m.to.includes(PRACT.email));
    const link = mail.links.find((l) => l.includes('/setpassword/'));
    assert.ok(link, `no set-password link in: ${mail.text}`);
    await pract.goto(link);
    await pract.getByLabel(/^New password/).fill(PRACT.password);
    await pract.getByLabel('Repeat the new password').fill(PRACT.password);
    await pract.getByRole('button', { name: 'Set password' }).click();
    await pract.getByText('Your password is set').waitFor();
    await pract.getByRole('link', { name: 'Sign in' }).last().click();
    await pract.getByLabel('Email').fill(PRACT.email);
    await pract.getByLabel(/^Password/).fill(PRACT.password);
    await pract.getByRole('button', { name: 'Sign in' }).click();
    await pract.waitForURL('**/account');
    await pract.getByRole('table', { name: 'Your account' }).getByText(`${PRACT.first} ${PRACT.last}`).waitFor();
    await screenshot(pract, 'account-phone');
  });

  it('shows the practitioner in Users as accepted, then removes them; their next action is refused', async () => {
    await admin.getByRole('link', { name: 'Back to the users list' }).click();
    const table = admin.getByRole('table', { name: 'Users' });
    const row = table.getByRole('row', { name: new RegExp(`${PRACT.first} ${PRACT.last}`) });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /Active/);
    await screenshot(admin, 'users');
    await row.getByRole('link', { name: `${PRACT.first} ${PRACT.last}` }).click();
    await admin.getByRole('heading', { name: `${PRACT.first} ${PRACT.last}` }).waitFor();
    await admin.getByText(PRACT.email).waitFor();
    await screenshot(admin, 'member');
    await admin.getByRole('button', { name: 'Remove user' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Remove this member?' });
    await dialog.getByText('resource is kept').waitFor();
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await admin.getByText('The member has been removed').waitFor();
    await admin.getByRole('button', { name: 'Restore' }).waitFor();

    await pract.getByRole('button', { name: 'Reload' }).click();
    // Refused: the app says so, or (its session ended) sends the practitioner to sign in.
    await pract.getByRole('heading', { name: 'Sign in' }).waitFor();
    await pract.getByText('Your session has ended').waitFor();
    assert.equal(await pract.getByRole('table', { name: 'Your account' }).count(), 0);
    await screenshot(pract, 'refused-phone');
  });

  it('restores the member, who can sign in again', async () => {
    await admin.getByRole('button', { name: 'Restore' }).click();
    await admin.getByText('The member has been restored').waitFor();
    await admin.getByRole('button', { name: 'Remove user' }).waitFor();

    await pract.goto(`${server.baseUrl}signin`);
    await pract.getByLabel('Email').fill(PRACT.email);
    await pract.getByLabel(/^Password/).fill(PRACT.password);
    await pract.getByRole('button', { name: 'Sign in' }).click();
    await pract.waitForURL('**/account');
    await pract.getByRole('table', { name: 'Your account' }).getByText('Sunrise Clinic').waitFor();
  });

  it('shows the audit log, and no script or policy errors in either browser', async () => {
    await admin.goto(`${server.baseUrl}admin/audit`);
    await admin.getByRole('heading', { name: 'Project: Sunrise Clinic' }).waitFor();
    await admin.getByRole('table', { name: 'Audit log' }).or(admin.getByText('Nothing recorded yet.')).waitFor();
    await screenshot(admin, 'audit-log');
    assert.deepEqual(consoleErrors, []);
  });
});
