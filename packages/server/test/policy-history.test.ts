/**
 * Access policies on history (issue 6): instance, type and system history return only
 * versions whose resource is currently within the policy AND whose own content satisfies the
 * criteria (a version from before the resource was moved into the member's reach stays
 * invisible, as does vread of it); paging stays exact; hidden fields leave history too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './harness.js';
import { assertAbsent, createPolicyFixture, observation, SECRET_VALUE, type PolicyFixture } from './policy-fixture.js';

interface HistoryBundle {
  type: string;
  link: Array<{ relation: string; url: string }>;
  entry?: Array<{ resource?: Observation & { id: string; meta: { versionId: string } }; request: { url: string }; response: { etag: string } }>;
}

describe('access policies: history', () => {
  let server: TestServer;
  let f: PolicyFixture;
  let moved: Observation & { id: string; meta: { versionId: string } };
  let movedBefore: string;
  let movedAway: Observation & { id: string };

  before(async () => {
    server = await startTestServer();
    f = await createPolicyFixture(server);
    // Bob's Observation, then moved to Alice by the admin: Alice sees the second version only.
    const first = (await f.admin.post('Observation', observation(f.bob, { code: { text: 'moved' } }))).body;
    movedBefore = first.meta.versionId;
    moved = (await f.admin.put(`Observation/${first.id}`, { ...first, subject: { reference: `Patient/${f.alice.id}` } })).body;
    // Alice's Observation moved to Bob: none of its versions is Alice's to see any more.
    const away = (await f.admin.post('Observation', observation(f.alice, { code: { text: 'moved-away' } }))).body;
    movedAway = (await f.admin.put(`Observation/${away.id}`, { ...away, subject: { reference: `Patient/${f.bob.id}` } })).body;
  });
  after(() => server.close());

  const versionsOf = (bundle: HistoryBundle): string[] => (bundle.entry ?? []).map((e) => e.response.etag);

  it('instance history: only versions within the policy; a resource outside it answers as a random id', async () => {
    const res = await f.patient.get<HistoryBundle>(`Observation/${moved.id}/_history`);
    assert.equal(res.status, 200);
    assert.deepEqual(versionsOf(res.body), [`W/"${moved.meta.versionId}"`]);
    assertAbsent(res.body, [`Patient/${f.bob.id}`]);
    const away = await f.patient.get<HistoryBundle>(`Observation/${movedAway.id}/_history`);
    const random = await f.patient.get<HistoryBundle>(`Observation/${server.deps.random.uuid()}/_history`);
    assert.equal(away.status, random.status);
    assert.deepEqual(away.body.entry ?? [], random.body.entry ?? []);
    assertAbsent(away.body, ['moved-away']);
    // vread of the version from before the move: 404.
    assert.equal((await f.patient.get(`Observation/${moved.id}/_history/${movedBefore}`)).status, 404);
    assert.equal((await f.patient.get(`Observation/${moved.id}/_history/${moved.meta.versionId}`)).status, 200);
    // The admin sees both versions.
    assert.equal(versionsOf((await f.admin.get<HistoryBundle>(`Observation/${moved.id}/_history`)).body).length, 2);
  });

  it('type and system history hold nothing outside the policy, and page exactly', async () => {
    const type = await f.patient.get<HistoryBundle>('Observation/_history');
    assert.equal(type.status, 200);
    const ids = new Set((type.body.entry ?? []).map((e) => e.resource?.id));
    assert.deepEqual([...ids].sort(), [f.obsAlice.id, f.obsAlice2.id, moved.id].sort());
    assertAbsent(type.body, [f.obsBob.id, f.obsCarol.id, movedAway.id, 'moved-away', f.bObs.id]);
    // Paged one by one, the same versions, each once.
    const seen: string[] = [];
    let path: string | undefined = 'Observation/_history?_count=1';
    while (path) {
      const page: HistoryBundle = (await f.patient.get<HistoryBundle>(path)).body;
      seen.push(...versionsOf(page));
      const next = page.link.find((l) => l.relation === 'next')?.url;
      path = next ? new URL(next).pathname.replace(/^\/fhir\/R4\//, '') + new URL(next).search : undefined;
    }
    assert.deepEqual(seen, versionsOf(type.body));
    const system = await f.patient.get<HistoryBundle>('_history');
    assert.equal(system.status, 200);
    const types = new Set((system.body.entry ?? []).map((e) => e.request.url.split('/')[0]));
    assert.ok([...types].every((t) => ['Patient', 'Observation', 'Encounter', 'Practitioner'].includes(t as string)), [...types].join());
    assertAbsent(system.body, [f.obsBob.id, f.bob.id, f.encBob.id, f.obsCarol.id, movedAway.id, f.policies.patient.id, f.bObs.id]);
  });

  it('a type outside the policy is a 403; hidden fields leave history', async () => {
    assert.equal((await f.patient.get('Condition/_history')).status, 403);
    const hidden = await f.hidden.get<HistoryBundle>('Observation/_history');
    assert.equal(hidden.status, 200);
    assert.ok((hidden.body.entry ?? []).length >= 5);
    assertAbsent(hidden.body, [SECRET_VALUE]);
    const system = await f.hidden.get('_history');
    assertAbsent(system.body, [SECRET_VALUE, 'Zyxwarden']);
  });
});
