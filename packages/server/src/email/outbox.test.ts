/**
 * Without SMTP_URL, mail is kept in the database, and `tessera outbox` shows it. The command
 * opens the database named by the config the way the real CLI does: the PostgreSQL of the
 * run with --pg, else an embedded PGlite in a fresh DATA_DIR.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { outboxCommand, OutboxCommandError } from '../cli/outbox.js';
import { loadConfig, type Config } from '../config.js';
import { openDeps } from '../open-deps.js';
import { FakeClock, testDatabaseUrl } from '../../test/harness.js';
import type { OutboxEntry } from './outbox.js';

const pgUrl = testDatabaseUrl();

/** Runs the command as `tessera outbox <args>` would, returning what it printed. */
async function runOutbox(config: Config, args: string[]): Promise<string> {
  const printed: string[] = [];
  await outboxCommand(config, args, (text) => printed.push(text));
  return printed.join('\n');
}

describe('email outbox', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-outbox-'));
  const config = loadConfig(pgUrl ? { DATABASE_URL: pgUrl, DATA_DIR: dataDir } : { DATA_DIR: dataDir });
  const clock = new FakeClock(Date.parse('2030-01-02T03:04:05.000Z'));
  const to = `invitee-${randomUUID().slice(0, 8)}@example.com`;
  const link = `${config.baseUrl}setpassword/${randomUUID()}/${randomUUID()}`;
  const outboxIds: string[] = [];

  before(async () => {
    // Written through AppDeps as the server would, then the database is closed: the embedded
    // database is one process's at a time, and the command opens it again.
    const deps = await openDeps(config, { clock });
    try {
      for (const n of [1, 2, 3]) {
        const result = await deps.mailer.send({ to, subject: `Invitation ${n}`, text: `Hello,\n\nSet your password: ${link}/${n}\n` });
        assert.equal(result.delivered, false, 'nobody got an email');
        assert.equal(result.error, undefined, 'keeping it is not a failure');
        assert.ok(result.outboxId);
        outboxIds.push(result.outboxId);
        clock.advance(60_000);
      }
    } finally {
      await deps.db.close();
    }
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('without SMTP_URL the message is kept, and `tessera outbox` prints who, when, subject and the text with its link', async () => {
    const output = await runOutbox(config, ['--to', to]);
    assert.match(output, /^3 messages to invitee-[0-9a-f]{8}@example\.com, newest first$/m);
    assert.match(output, new RegExp(`^2030-01-02T03:04:05\\.000Z  to ${to.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(output, /^Subject: Invitation 1$/m);
    assert.match(output, /^From: {4}Tessera <no-reply@localhost>$/m);
    assert.ok(output.includes(`Set your password: ${link}/1\n`), output);
    // Newest first.
    const order = ['Invitation 3', 'Invitation 2', 'Invitation 1'].map((s) => output.indexOf(`Subject: ${s}`));
    assert.deepEqual([...order].sort((a, b) => a - b), order);
  });

  test('--limit N prints the newest N', async () => {
    const output = await runOutbox(config, ['--to', to, '--limit', '2']);
    assert.match(output, /^2 messages .* \(the newest 2; --limit N for more\)$/m);
    assert.ok(output.includes('Subject: Invitation 3') && output.includes('Subject: Invitation 2'));
    assert.ok(!output.includes('Subject: Invitation 1'));
    // Without --to, whatever else the database holds: exactly one message.
    const one = await runOutbox(config, ['--limit', '1']);
    assert.equal(one.match(/^Subject: /gm)?.length, 1);
  });

  test('--json gives the entries for scripts', async () => {
    const entries = JSON.parse(await runOutbox(config, ['--to', to.toUpperCase(), '--json'])) as (OutboxEntry & { createdAt: string })[];
    assert.deepEqual(entries.map((e) => e.id), [...outboxIds].reverse());
    assert.deepEqual(
      { to: entries[2]?.to, subject: entries[2]?.subject, status: entries[2]?.status, createdAt: entries[2]?.createdAt },
      { to, subject: 'Invitation 1', status: 'stored', createdAt: '2030-01-02T03:04:05.000Z' },
    );
  });

  test('says so when there is no mail', async () => {
    assert.equal(await runOutbox(config, ['--to', 'nobody@example.com']), 'No mail to nobody@example.com in the outbox.');
  });

  test('refuses a bad --limit', async () => {
    for (const limit of ['0', '-1', 'ten', '1.5', '100000']) {
      await assert.rejects(runOutbox(config, [`--limit=${limit}`]), OutboxCommandError);
    }
  });

  test('refuses to open the embedded database while a server holds it', { skip: pgUrl ? 'PostgreSQL run: no embedded database' : false }, async () => {
    // The lock file names a live process that is not this one: the test runner.
    writeFileSync(join(config.dataDir, 'tessera.pid'), String(process.ppid));
    try {
      await assert.rejects(runOutbox(config, []), /in use by .*process/);
    } finally {
      rmSync(join(config.dataDir, 'tessera.pid'), { force: true });
    }
  });
});
