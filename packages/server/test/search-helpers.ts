/**
 * Helpers for the search suites: run a search and read back what a client sees (the ids of
 * the matches, in order), and make a project with its own client so suites never share data.
 */
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { createMember, fhirClient, type FhirClient, type Response, type TestMember } from './factories.js';
import type { TestServer } from './harness.js';

export interface SearchBundle {
  resourceType: 'Bundle';
  type: string;
  total?: number;
  link: Array<{ relation: string; url: string }>;
  entry?: Array<{ fullUrl: string; resource: Resource & { id: string }; search: { mode: string } }>;
}

export interface SearchProject {
  member: TestMember;
  fhir: FhirClient;
  /** Creates a resource and returns it as stored. */
  create<T extends Resource>(resource: T): Promise<T & { id: string }>;
  /** Runs `GET [type]?query` and returns the Bundle, failing on anything but 200. */
  search(query: string, headers?: Record<string, string>): Promise<SearchBundle>;
  /** The ids of the matches of `GET [type]?query`, sorted (for set comparisons). */
  ids(query: string): Promise<string[]>;
}

export async function searchProject(server: TestServer, options: { admin?: boolean } = {}): Promise<SearchProject> {
  const member = await createMember(server, options);
  const fhir = fhirClient(server, member.token);
  const project: SearchProject = {
    member,
    fhir,
    async create(resource) {
      const res = await fhir.post(resource.resourceType, resource);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body;
    },
    async search(query, headers) {
      const res = await fhir.get<SearchBundle>(query, headers);
      assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body).slice(0, 600)}`);
      assert.equal(res.body.type, 'searchset');
      return res.body;
    },
    async ids(query) {
      return entryIds(await project.search(query)).sort();
    },
  };
  return project;
}

/** The ids of a Bundle's entries, in the Bundle's order. */
export function entryIds(bundle: SearchBundle): string[] {
  return (bundle.entry ?? []).map((e) => e.resource.id);
}

/** The path and query of a Bundle link, relative to the FHIR base, for the test client to follow. */
export function linkPath(server: TestServer, bundle: SearchBundle, relation: string): string | undefined {
  const url = bundle.link.find((l) => l.relation === relation)?.url;
  return url === undefined ? undefined : url.slice(server.fhirUrl.length);
}

export function sorted(...ids: string[]): string[] {
  return [...ids].sort();
}

export type { Response };
