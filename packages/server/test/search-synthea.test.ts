/**
 * Search correctness on real data: five Synthea patients' records (transaction Bundles in
 * ../shared/data/synthea), loaded by creating each entry in order with its `urn:uuid:`
 * references rewritten to the ids the server assigned. Each query's answer is compared with
 * a count computed here, from the files alone: plain parameters, then `_include`,
 * `_revinclude`, chains, `_has`, compartment search and `$everything`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Condition, Encounter, Observation, Organization, Patient, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './harness.js';
import { searchProject, type SearchBundle, type SearchProject } from './search-helpers.js';

const DATA_DIR = process.env.SYNTHEA_DIR ?? join(import.meta.dirname, '../../../../shared/data/synthea');
const FILES = 5;
const LOINC = 'http://loinc.org';

interface Loaded {
  /** Resources as in the files (urn:uuid references), by type. */
  byType: Map<string, Resource[]>;
  /** urn:uuid fullUrl -> the server's `Type/id`. */
  serverRef: Map<string, string>;
  /** Each file's entries, as in the file. */
  files: Array<Array<{ fullUrl: string; resource: Resource }>>;
}

/** Every `reference` string anywhere in a resource. */
function referencesIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencesIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, v]) => (key === 'reference' && typeof v === 'string' ? [v] : referencesIn(v)));
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
  const loaded: Loaded = { byType: new Map(), serverRef: new Map(), files: [] };
  for (const file of pickFiles()) {
    const bundle = JSON.parse(readFileSync(join(DATA_DIR, file), 'utf8')) as Bundle;
    loaded.files.push((bundle.entry ?? []).map((e) => ({ fullUrl: e.fullUrl as string, resource: e.resource as Resource })));
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

  describe('following references', () => {
    const serverRef = (fullUrl: string): string => data.serverRef.get(fullUrl) as string;
    const modeRefs = (bundle: SearchBundle, mode: string): string[] =>
      (bundle.entry ?? []).filter((e) => e.search.mode === mode).map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();
    const patientsOf = (): Array<{ fullUrl: string; ref: string; id: string; patient: Patient; file: Loaded['files'][number] }> =>
      data.files.map((file) => {
        const entry = file.find((e) => e.resource.resourceType === 'Patient') as { fullUrl: string; resource: Patient };
        const ref = serverRef(entry.fullUrl);
        return { fullUrl: entry.fullUrl, ref, id: ref.slice('Patient/'.length), patient: entry.resource, file };
      });
    const ofFile = <T extends Resource>(file: Loaded['files'][number], type: T['resourceType']): Array<{ fullUrl: string; resource: T }> =>
      file.filter((e) => e.resource.resourceType === type) as Array<{ fullUrl: string; resource: T }>;

    it('_include and _revinclude, per patient and across patients', async () => {
      for (const { fullUrl, ref, id, file } of patientsOf()) {
        const encounters = ofFile<Encounter>(file, 'Encounter').filter((e) => e.resource.subject?.reference === fullUrl);
        const withPatient = await p.search(`Encounter?patient=${ref}&_include=Encounter:patient&_count=1000`);
        assert.deepEqual(modeRefs(withPatient, 'match'), encounters.map((e) => serverRef(e.fullUrl)).sort(), ref);
        assert.deepEqual(modeRefs(withPatient, 'include'), encounters.length > 0 ? [ref] : [], 'the patient, once');
        const conditions = ofFile<Condition>(file, 'Condition').filter((c) => c.resource.subject.reference === fullUrl);
        assert.deepEqual(modeRefs(await p.search(`Patient?_id=${id}&_revinclude=Condition:subject`), 'include'), conditions.map((c) => serverRef(c.fullUrl)).sort());
        const participants = new Set(encounters.flatMap((e) => (e.resource.participant ?? []).map((x) => x.individual?.reference as string)));
        const iterated = await p.search(`Patient?_id=${id}&_revinclude=Encounter:patient&_include:iterate=Encounter:participant`);
        assert.deepEqual(modeRefs(iterated, 'include'), [...encounters.map((e) => e.fullUrl), ...participants].map(serverRef).sort());
      }
      const providers = new Set(of<Encounter>('Encounter').map((e) => e.serviceProvider?.reference as string));
      const all = await p.search('Encounter?_include=Encounter:service-provider&_count=1000');
      assert.equal(modeRefs(all, 'match').length, of<Encounter>('Encounter').length);
      assert.deepEqual(modeRefs(all, 'include'), [...providers].map(serverRef).sort());
    });

    it('chains and _has', async () => {
      const patients = patientsOf();
      const observations = of<Observation>('Observation');
      for (const { patient, fullUrl, file } of patients) {
        const family = (patient.name?.[0]?.family as string).toLowerCase();
        const named = new Set(patients.filter((x) => x.patient.name?.some((n) => n.family?.toLowerCase().startsWith(family))).map((x) => x.fullUrl));
        assert.equal(await total(`Observation?subject:Patient.family=${family}`), observations.filter((o) => named.has(o.subject?.reference as string)).length, family);
        const code = ofFile<Condition>(file, 'Condition').find((c) => c.resource.subject.reference === fullUrl)?.resource.code?.coding?.[0];
        if (code) {
          const having = patients.filter((x) => ofFile<Condition>(x.file, 'Condition').some((c) => c.resource.code?.coding?.some((k) => k.system === code.system && k.code === code.code)));
          assert.deepEqual(await p.ids(`Patient?_has:Condition:patient:code=${code.system}|${code.code}`), having.map((x) => x.id).sort(), code.code);
        }
      }
      // Two references deep: Observation -> Encounter -> Organization, by the organization's name.
      const organizations = new Map(of<Organization>('Organization').map((o) => [`urn:uuid:${o.id}`, o.name as string]));
      const encounterOrg = new Map(of<Encounter>('Encounter').map((e) => [`urn:uuid:${e.id}`, organizations.get(e.serviceProvider?.reference as string)]));
      const name = [...organizations.values()][0] as string;
      const expected = observations.filter((o) => encounterOrg.get(o.encounter?.reference as string) === name).length;
      assert.ok(expected > 0);
      const escaped = name.replace(/[\\,$|]/g, (c) => `\\${c}`); // https://hl7.org/fhir/R4/search.html#escaping
      assert.equal(await total(`Observation?encounter.service-provider.name:exact=${encodeURIComponent(escaped)}`), expected, name);
    });

    it('compartment search and $everything', async () => {
      for (const { fullUrl, ref, id, file } of patientsOf()) {
        const observations = ofFile<Observation>(file, 'Observation').filter((o) => o.resource.subject?.reference === fullUrl).length;
        assert.equal((await p.search(`Patient/${id}/Observation?_summary=count`)).total, observations, ref);
        // Everything in the file but its Organizations and Practitioners refers to the patient.
        const inCompartment = file.filter((e) => !['Patient', 'Organization', 'Practitioner'].includes(e.resource.resourceType));
        assert.ok(inCompartment.every((e) => referencesIn(e.resource).includes(fullUrl)));
        const referenced = new Set(inCompartment.flatMap((e) => referencesIn(e.resource)));
        const providers = file.filter((e) => ['Organization', 'Practitioner'].includes(e.resource.resourceType) && referenced.has(e.fullUrl));
        const everything = await p.search(`Patient/${id}/$everything`);
        assert.deepEqual(modeRefs(everything, 'match'), [ref, ...inCompartment.map((e) => serverRef(e.fullUrl))].sort(), ref);
        assert.deepEqual(modeRefs(everything, 'include'), providers.map((e) => serverRef(e.fullUrl)).sort(), ref);
      }
    });
  });
});
