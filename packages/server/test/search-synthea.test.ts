/**
 * Search correctness on real data: five Synthea patients' records (transaction Bundles in
 * ../shared/data/synthea), loaded by creating each entry in order with its `urn:uuid:`
 * references rewritten to the ids the server assigned (transactions are not implemented
 * yet). Each query's answer is compared with a count computed here, from the files alone.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Condition, Encounter, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './harness.js';
import { searchProject, type SearchProject } from './search-helpers.js';

const DATA_DIR = process.env.SYNTHEA_DIR ?? join(import.meta.dirname, '../../../../shared/data/synthea');
const FILES = 5;
const LOINC = 'http://loinc.org';

interface Loaded {
  /** Resources as in the files (urn:uuid references), by type. */
  byType: Map<string, Resource[]>;
  /** urn:uuid fullUrl -> the server's `Type/id`. */
  serverRef: Map<string, string>;
}

/** The smallest files, so the suite stays quick; sorted by name for the same choice every run. */
function pickFiles(): string[] {
  const files = readdirSync(DATA_DIR).filter((f) => f.endsWith('.json'));
  return files.sort((x, y) => statSync(join(DATA_DIR, x)).size - statSync(join(DATA_DIR, y)).size || x.localeCompare(y)).slice(0, FILES);
}

/** Replaces every `reference` that names an earlier entry's fullUrl with that entry's server reference. */
function rewriteReferences(value: unknown, serverRef: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, serverRef));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'reference' && typeof v === 'string' && v.startsWith('urn:uuid:')) {
      const ref = serverRef.get(v);
      assert.ok(ref, `reference ${v} to an entry not created yet`);
      out[key] = ref;
    } else {
      out[key] = rewriteReferences(v, serverRef);
    }
  }
  return out;
}

async function load(p: SearchProject): Promise<Loaded> {
  const loaded: Loaded = { byType: new Map(), serverRef: new Map() };
  for (const file of pickFiles()) {
    const bundle = JSON.parse(readFileSync(join(DATA_DIR, file), 'utf8')) as Bundle;
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource as Resource;
      const created = await p.create(rewriteReferences({ ...resource, id: undefined }, loaded.serverRef) as Resource);
      loaded.serverRef.set(entry.fullUrl as string, `${resource.resourceType}/${created.id}`);
      loaded.byType.set(resource.resourceType, [...(loaded.byType.get(resource.resourceType) ?? []), resource]);
    }
  }
  return loaded;
}

describe('search on Synthea data, checked against the files', () => {
  let server: TestServer;
  let p: SearchProject;
  let data: Loaded;
  const of = <T extends Resource>(type: T['resourceType']): T[] => (data.byType.get(type) ?? []) as T[];
  const total = async (query: string): Promise<number> => (await p.search(`${query}&_total=accurate&_count=1`)).total as number;

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    data = await load(p);
  });
  after(() => server.close());

  it('loaded every entry', async () => {
    for (const [type, resources] of data.byType) {
      // The project's member has a Practitioner profile of its own.
      const own = type === 'Practitioner' ? 1 : 0;
      assert.equal((await p.search(`${type}?_summary=count`)).total, resources.length + own, type);
    }
  });

  it('Observations by LOINC code', async () => {
    const codes = new Set(of<Observation>('Observation').flatMap((o) => (o.code.coding ?? []).filter((c) => c.system === LOINC).map((c) => c.code as string)));
    assert.ok(codes.size > 10);
    for (const code of [...codes].sort().slice(0, 12)) {
      const expected = of<Observation>('Observation').filter((o) => o.code.coding?.some((c) => c.system === LOINC && c.code === code)).length;
      assert.equal(await total(`Observation?code=${LOINC}|${code}`), expected, code);
    }
  });

  it('Encounters by date range', async () => {
    const encounters = of<Encounter>('Encounter');
    for (const year of [2000, 2012, 2015, 2017, 2019]) {
      const from = Date.UTC(year, 0, 1);
      const to = Date.UTC(year + 1, 0, 1);
      const started = encounters.filter((e) => Date.parse(e.period?.start as string) >= from && Date.parse(e.period?.start as string) < to).length;
      // sa[year-1]-12-31: starts on or after 1 January; lt[year+1]-01-01: starts before the next.
      assert.equal(await total(`Encounter?date=sa${year - 1}-12-31&date=lt${year + 1}-01-01`), started, `started in ${year}`);
      const within = encounters.filter((e) => Date.parse(e.period?.start as string) >= from && Date.parse(e.period?.end as string) + 1000 <= to).length;
      assert.equal(await total(`Encounter?date=${year}`), within, `within ${year}`);
    }
  });

  it('Patients by name and birthdate', async () => {
    const patients = of<Patient>('Patient');
    for (const patient of patients) {
      const family = patient.name?.[0]?.family as string;
      const prefix = family.slice(0, 3).toLowerCase();
      const expected = patients.filter((x) => x.name?.some((n) => n.family?.toLowerCase().startsWith(prefix))).length;
      assert.equal(await total(`Patient?family=${prefix}`), expected, family);
      const given = patient.name?.[0]?.given?.[0] as string;
      assert.equal(await total(`Patient?name=${given.toUpperCase()}`), patients.filter((x) => x.name?.some((n) => n.given?.includes(given) || n.family?.toLowerCase().startsWith(given.toLowerCase()))).length);
      assert.equal(await total(`Patient?birthdate=${patient.birthDate}`), patients.filter((x) => x.birthDate === patient.birthDate).length);
    }
    for (const year of [1950, 1985, 1990]) {
      assert.equal(await total(`Patient?birthdate=lt${year}`), patients.filter((x) => (x.birthDate as string) < `${year}`).length, `before ${year}`);
      assert.equal(await total(`Patient?birthdate=ge${year}-01-01`), patients.filter((x) => (x.birthDate as string) >= `${year}`).length, `from ${year}`);
    }
  });

  it('Conditions and Observations by patient', async () => {
    for (const [fullUrl, ref] of data.serverRef) {
      if (!ref.startsWith('Patient/')) continue;
      const conditions = of<Condition>('Condition').filter((c) => c.subject.reference === fullUrl).length;
      assert.equal(await total(`Condition?patient=${ref}`), conditions, ref);
      assert.equal(await total(`Condition?subject=${ref.slice('Patient/'.length)}`), conditions, ref);
      const heights = of<Observation>('Observation').filter((o) => o.subject?.reference === fullUrl && o.code.coding?.some((c) => c.code === '8302-2')).length;
      assert.equal(await total(`Observation?subject=${ref}&code=${LOINC}|8302-2`), heights, ref);
    }
  });
});
