/**
 * A Login gets one membership and one code. Two profile choices sent at once for the same Login
 * (a double click, two tabs) must not both succeed: `issueCode` sets the membership under the
 * Login's row lock and re-checks it there, so the second is refused and only one code exists.
 * On PostgreSQL the two requests overlap and, without the locked re-check, both get a code; on
 * PGlite (one connection) they run one after the other, so there the test cannot catch that.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Login } from '@medplum/fhirtypes';
import { login, post } from './auth-client.js';
import { startTestServer, type TestServer } from './harness.js';
import { membershipInNewProject, memberWithPassword, PASSWORD } from './oauth-fixtures.js';

describe('choosing a profile twice at once', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('gives one code, for one membership; the other choice is refused', async () => {
    const member = await memberWithPassword(server);
    const { membership: second } = await membershipInNewProject(server, member.userId, 'Second project');

    for (let round = 0; round < 3; round++) {
      const started = await login(server, member.email, PASSWORD);
      assert.equal(started.body.memberships?.length, 2, JSON.stringify(started.body));
      const answers = await Promise.all([member.membershipId, second.id].map((profileId) => post(server, 'auth/profile', { login: started.body.login, profile: profileId })));
      const ok = answers.filter((a) => a.status === 200);
      assert.equal(ok.length, 1, `one choice succeeds: ${JSON.stringify(answers.map((a) => [a.status, a.body]))}`);
      const refused = answers.find((a) => a.status !== 200);
      assert.equal(refused?.status, 400);
      assert.match(JSON.stringify(refused?.body), /Login profile already set/);
      // The stored Login holds the membership and code of the choice that succeeded.
      const { rows } = await server.deps.db.query<{ content: Login }>(`SELECT content FROM resource WHERE resource_type = 'Login' AND id = $1`, [started.body.login]);
      const chosenId = answers[0]?.status === 200 ? member.membershipId : second.id;
      assert.equal(rows[0]?.content.membership?.reference, `ProjectMembership/${chosenId}`);
    }
  });
});
