/**
 * The web app end to end, second part: an access policy written entry by entry (with the
 * server's validation error shown on the entry), a patient invited with that policy and
 * "preview as this member", a client application (secret shown once, rotated, disabled:
 * checked against /oauth2/token), a bulk invite from a CSV file, and a bot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';
import { startSmtpSink, type SmtpSink } from '../../server/test/smtp-sink.ts';
import { launchChromium, screenshot } from './browser.ts';
import { newAdmin, registerWithProject } from './flows.ts';

async function clientCredentials(baseUrl: string, id: string, secret: string): Promise<number> {
  const res = await fetch(`${baseUrl}oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
  });
  return res.status;
}

describe('web app: access policies, preview as member, bulk invite, clients, bots', () => {
  let server: TestServer;
  let sink: SmtpSink;
  let browser: Browser;
  let page: Page;
  const admin = newAdmin('Harbor Health');

  before(async () => {
    sink = await startSmtpSink();
    server = await startTestServer({ env: { SMTP_URL: sink.url }, followRealTime: true });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    await registerWithProject(page, server.baseUrl, admin);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await sink?.close();
  });

  it('writes an access policy entry by entry, with the server error shown on its entry', async () => {
    await page.getByRole('tab', { name: 'Access policies' }).click();
    await page.getByRole('link', { name: 'New access policy' }).click();
    await page.getByLabel(/^Name/).fill('Own records');
    await page.getByLabel(/^Entry 1: resource type/).fill('Observation');
    await page.getByLabel(/^Entry 1: criteria/).fill('Patient?name=x');
    await page.getByRole('button', { name: 'Add entry' }).click();
    await page.getByLabel(/^Entry 2: resource type/).fill('Patient');
    await page.getByLabel(/^Entry 2: read only/).check();
    await page.getByRole('button', { name: 'Save policy' }).click();
    const criteria = page.getByLabel(/^Entry 1: criteria/);
    await page.getByText(/must search Observation/).waitFor();
    assert.equal(await criteria.getAttribute('aria-invalid'), 'true');
    await criteria.fill('Observation?subject=%patient');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Saved.').waitFor();
    await page.getByRole('heading', { name: 'Access policy: Own records' }).waitFor();
    await screenshot(page, 'access-policy');
  });

  it('invites a patient with that policy and previews what the patient may do', async () => {
    await page.getByRole('link', { name: 'Invite' }).first().click();
    await page.getByLabel('Role').selectOption('Patient');
    await page.getByLabel(/^First name/).fill('Pat');
    await page.getByLabel(/^Last name/).fill('Patient');
    await page.getByRole('textbox', { name: /^Email/ }).fill(`pat.${Date.now()}@example.com`);
    await page.getByRole('textbox', { name: /^Access policy/ }).click();
    await page.getByRole('option', { name: 'Own records' }).click();
    await page.getByLabel(/Send an invitation email/).uncheck();
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    await page.getByText('No email was sent').waitFor();
    await page.getByRole('link', { name: 'Go to the new membership' }).click();
    await page.getByRole('heading', { name: 'Pat Patient' }).waitFor();
    assert.equal(await page.getByRole('textbox', { name: /^Access policy/ }).inputValue(), 'Own records');

    const preview = page.getByRole('form', { name: 'Preview as this member' });
    await preview.getByLabel('Interaction').selectOption('search');
    await preview.getByLabel('Resource type').fill('Practitioner');
    await preview.getByRole('button', { name: 'Check' }).click();
    await preview.getByText('Refused', { exact: true }).waitFor();
    await preview.getByLabel('Resource type').fill('Observation');
    await preview.getByRole('button', { name: 'Check' }).click();
    await preview.getByText('Allowed', { exact: true }).waitFor();
    await preview.getByText(/entry 1 of/).waitFor();
    await screenshot(page, 'preview-as-member');
  });

  it("invites a related person for that patient, who must be chosen first", async () => {
    await page.goto(`${server.baseUrl}admin/invite`);
    await page.getByLabel('Role').selectOption('RelatedPerson');
    await page.getByLabel(/^First name/).fill('Rita');
    await page.getByLabel(/^Last name/).fill('Relative');
    await page.getByRole('textbox', { name: /^Email/ }).fill(`rita.${Date.now()}@example.com`);
    await page.getByLabel(/Send an invitation email/).uncheck();
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    await page.getByText(/needs the Patient/).waitFor();
    await page.getByRole('textbox', { name: /^Related to patient/ }).click();
    await page.getByRole('option', { name: 'Pat Patient' }).click();
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    await page.getByText('User created').waitFor();
  });

  it('lists and searches patients, edits one and shows its history and JSON', async () => {
    await page.getByRole('link', { name: 'Patients', exact: true }).click();
    await page.getByRole('heading', { name: 'Patients' }).waitFor();
    await page.getByLabel('Name').fill('Nobody-like-this');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('Nobody named "Nobody-like-this".').waitFor();
    await page.getByLabel('Name').fill('Pat');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('table', { name: 'Patients' }).getByRole('link', { name: 'Pat Patient' }).click();
    await page.getByRole('heading', { name: 'Pat Patient' }).waitFor();
    await page.getByRole('tab', { name: 'Edit' }).click();
    await page.getByLabel('Birth date').fill('1990-04-02');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved as a new version.').waitFor();
    await page.getByRole('tab', { name: 'History' }).click();
    const versions = page.getByRole('table', { name: 'History' }).getByRole('row');
    await versions.nth(2).waitFor();
    assert.equal(await versions.count(), 3);
    await page.getByRole('tab', { name: 'JSON' }).click();
    assert.match((await page.getByRole('tabpanel', { name: 'JSON' }).textContent()) ?? '', /"birthDate": "1990-04-02"/);
    await screenshot(page, 'resource');
  });

  it('creates a client (secret shown once), rotates its secret and disables it', async () => {
    await page.goto(`${server.baseUrl}admin/clients`);
    await page.getByLabel(/^Name/).fill('Lab feed');
    await page.getByRole('button', { name: 'Create client' }).click();
    const secret = (await page.getByLabel('Client secret').textContent()) ?? '';
    const row = page.getByRole('table', { name: 'Clients' }).getByRole('row', { name: /Lab feed/ });
    const id = ((await row.locator('code').textContent()) ?? '').trim();
    assert.match(secret, /^[0-9a-f]{64}$/);
    await screenshot(page, 'client-secret');
    assert.equal(await clientCredentials(server.baseUrl, id, secret), 200);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    assert.equal(await page.getByLabel('Client secret').count(), 0);

    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Rotate the secret of Lab feed' }).click();
    const rotated = (await page.getByLabel('Client secret').textContent()) ?? '';
    assert.notEqual(rotated, secret);
    assert.equal(await clientCredentials(server.baseUrl, id, secret), 401);
    assert.equal(await clientCredentials(server.baseUrl, id, rotated), 200);

    await row.getByRole('button', { name: 'Disable Lab feed' }).click();
    await row.getByText('Disabled').waitFor();
    assert.notEqual(await clientCredentials(server.baseUrl, id, rotated), 200);
  });

  it('invites several people from a CSV file, with a progress bar and a result per row', async () => {
    await page.goto(`${server.baseUrl}admin/invite`);
    const tag = Date.now();
    const csv = [
      'resourceType,firstName,lastName,email,sendEmail',
      `Practitioner,"Lee, Jr.",One,lee.${tag}@example.com,false`,
      `Patient,Kim,Two,not-an-email,false`,
      `Practitioner,Sam,Three,sam.${tag}@example.com,false`,
    ].join('\n');
    await page.locator('input[type="file"]').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Invite everyone in the file' }).click();
    await page.getByText('3 of 3 rows done').waitFor();
    const rows = page.getByRole('table', { name: 'Bulk invite results' }).getByRole('row');
    assert.equal(await rows.count(), 4);
    assert.match((await rows.nth(1).textContent()) ?? '', new RegExp(`1lee\\.${tag}@example\\.comInvited`));
    assert.match((await rows.nth(2).textContent()) ?? '', /2.*Not invited.*email/);
    assert.match((await rows.nth(3).textContent()) ?? '', /3.*Invited/);
    await screenshot(page, 'bulk-invite');
    await page.goto(`${server.baseUrl}admin/users`);
    await page.getByRole('table', { name: 'Users' }).getByRole('link', { name: 'Lee, Jr. One' }).waitFor();
  });

  it('creates a bot', async () => {
    await page.goto(`${server.baseUrl}admin/bots`);
    await page.getByLabel(/^Name/).fill('Nightly export');
    await page.getByRole('button', { name: 'Create bot' }).click();
    await page.getByRole('table', { name: 'Bots' }).getByText('Nightly export').waitFor();
  });
});
