/**
 * `tessera members list|remove|restore`: the same services as the admin API, for scripts.
 * Run in process on the test server's database (so the effect on a member's token is seen
 * over HTTP), and once as a real child process to prove the command is registered and sets
 * its exit status.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { MembersCommandError, runMembersCommand } from '../src/cli/members.js';
import { countRows, createMember, fhirClient, type TestMember } from './factories.js';
import { startTestServer, testDatabaseUrl, type TestServer } from './harness.js';

const bin = fileURLToPath(new URL('../bin/tessera.js', import.meta.url));

function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tessera ${args.join(' ')} did not finish\n${stdout}\n${stderr}`));
    }, 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('tessera members', () => {
  let server: TestServer;
  let owner: TestMember;
  let member: TestMember;

  before(async () => {
    server = await startTestServer();
    owner = await createMember(server);
    member = await createMember(server, { projectId: owner.projectId, admin: false });
  });
  after(() => server.close());

  async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runMembersCommand(server.deps, args, { print: (t) => (out += `${t}\n`), error: (t) => (err += `${t}\n`) });
    return { code, out, err };
  }

  it('lists the members, as text and as JSON', async () => {
    const text = await run('list', '--project', owner.projectId);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /^2 members\n/);
    assert.match(text.out, new RegExp(`${owner.membershipId}  ${owner.profile}  .*<${owner.email}>  \\[owner, admin, invite pending\\]`));
    assert.match(text.out, new RegExp(`${member.membershipId}  ${member.profile}  .*<${member.email}>`));
    const json = await run('list', '--project', owner.projectId, '--json');
    const parsed = JSON.parse(json.out) as Array<{ id: string; owner: boolean }>;
    assert.deepEqual(parsed.map((m) => m.id).sort(), [owner.membershipId, member.membershipId].sort());
  });

  it('remove cuts the member off; restore brings the membership back; both are refused when they make no sense', async () => {
    const client = fhirClient(server, member.token);
    assert.equal((await client.get(member.profile)).status, 200);

    const removed = await run('remove', '--project', owner.projectId, member.membershipId);
    assert.equal(removed.code, 0, removed.err);
    assert.match(removed.out, new RegExp(`Removed ProjectMembership/${member.membershipId} \\(1 sign-in revoked\\)`));
    assert.equal((await client.get(member.profile)).status, 401);

    const listed = await run('list', '--project', owner.projectId, '--removed');
    assert.match(listed.out, /^1 removed member\n/);
    assert.match(listed.out, new RegExp(`${member.membershipId} .*removed\\]`));

    const before = await countRows(server, owner.projectId);
    const again = await run('remove', '--project', owner.projectId, member.membershipId);
    assert.equal(again.code, 1);
    assert.match(again.err, /already removed/);
    const ownerRemoval = await run('remove', '--project', owner.projectId, owner.membershipId);
    assert.equal(ownerRemoval.code, 1);
    assert.match(ownerRemoval.err, /Cannot delete the owner of the project/);
    assert.deepEqual(await countRows(server, owner.projectId), before);

    const restored = await run('restore', '--project', owner.projectId, member.membershipId);
    assert.equal(restored.code, 0, restored.err);
    assert.match(restored.out, new RegExp(`Restored ProjectMembership/${member.membershipId} \\(${member.profile}\\)`));
    const admin = fhirClient(server, owner.token);
    assert.equal((await admin.get(`ProjectMembership/${member.membershipId}`)).status, 200);
    const notRemoved = await run('restore', '--project', owner.projectId, member.membershipId);
    assert.equal(notRemoved.code, 1);
    assert.match(notRemoved.err, /is not removed/);

    // The operator's actions are in the audit log.
    const events = await admin.get<{ entry?: Array<{ resource: { subtype?: Array<{ code?: string }>; agent?: Array<{ who?: { display?: string } }> } }> }>('AuditEvent?_count=100');
    const byOperator = (events.body.entry ?? []).filter((e) => e.resource.agent?.[0]?.who?.display === 'tessera members (operator)');
    assert.deepEqual(byOperator.map((e) => e.resource.subtype?.[0]?.code).sort(), ['member-remove', 'member-restore']);
  });

  it('refuses an unknown project or membership (exit 1) and a wrong call (usage error)', async () => {
    const unknownProject = await run('list', '--project', server.deps.random.uuid());
    assert.equal(unknownProject.code, 1);
    assert.match(unknownProject.err, /not found/);
    const unknownMember = await run('remove', '--project', owner.projectId, server.deps.random.uuid());
    assert.equal(unknownMember.code, 1);
    await assert.rejects(() => run('list'), MembersCommandError);
    await assert.rejects(() => run('remove', '--project', owner.projectId), MembersCommandError);
    await assert.rejects(() => run('promote', '--project', owner.projectId), MembersCommandError);
    await assert.rejects(() => run('list', '--project', 'not-a-uuid'), MembersCommandError);
  });

  it('is a command of the tessera binary, with exit status 2 for a usage error and 1 for a refusal', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tessera-members-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
      delete env.DATABASE_URL;
      const dbUrl = testDatabaseUrl();
      if (dbUrl) env.DATABASE_URL = dbUrl;
      const usage = await runChild(['members'], env);
      assert.equal(usage.code, 2, usage.stderr);
      assert.match(usage.stderr, /Usage: tessera members/);
      if (dbUrl) {
        // On PostgreSQL the command shares the test server's database: it sees this project.
        const listed = await runChild(['members', 'list', '--project', owner.projectId], env);
        assert.equal(listed.code, 0, listed.stderr);
        assert.match(listed.stdout, new RegExp(owner.membershipId));
      } else {
        const refused = await runChild(['members', 'list', '--project', owner.projectId], env);
        assert.equal(refused.code, 1, refused.stderr);
        assert.match(refused.stderr, /not found/);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
