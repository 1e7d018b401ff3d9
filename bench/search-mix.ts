/**
 * The search mix: one query of each kind the issue names (token, date range, reference,
 * string, chained, `_include`), with values picked from the imported Synthea data so that
 * each query matches a realistic share of it. Values are read from the stored JSON of the
 * imported resources (not from the search index tables, whose speed is what is measured):
 *   token      Observation?code=http://loinc.org|C     C the most frequent LOINC code
 *   date       Encounter?date=geY-01-01&date=ltY+1-01-01  Y the year most Encounters start in
 *   reference  Observation?subject=Patient/P           P the Patient with the median number of Observations
 *   string     Patient?name=abc                        the most common 3-letter start of a family name
 *   chain      Observation?subject:Patient.name=F      F the family name of P
 *   include    Encounter?_include=Encounter:patient    the first page of Encounters and their Patients
 * Each query asks for the default page (20) and no total, as a list screen would.
 * The values are chosen once, on the Synthea set, and kept for the large set: a copy has the
 * same codes, dates and names, so token, date, string and chain queries match about (copies + 1)
 * times as many resources there, while the reference query still names the one original Patient.
 */
import pg from 'pg';

export type QueryKind = 'token' | 'date' | 'reference' | 'string' | 'chain' | 'include';

export interface SearchQuery {
  kind: QueryKind;
  /** `Type?params`, as sent after /fhir/R4/. */
  query: string;
  /** Why these values, for the results file. */
  picked: string;
}

export const QUERY_KINDS: QueryKind[] = ['token', 'date', 'reference', 'string', 'chain', 'include'];

/** `ids`: the imported resources' ids by type, so the choice ignores anything else in the project. */
export async function chooseSearchMix(databaseUrl: string, projectId: string, ids: Map<string, string[]>): Promise<SearchQuery[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const one = async <T>(sql: string, params: unknown[]): Promise<T> => {
      const { rows } = await client.query<T & pg.QueryResultRow>(sql, params);
      if (!rows[0]) throw new Error(`The Synthea data has nothing for: ${sql}`);
      return rows[0];
    };
    const of = (type: string): string[] => ids.get(type) ?? [];
    const code = await one<{ code: string; n: number }>(
      `SELECT c->>'code' AS code, count(*)::int AS n FROM resource r, jsonb_array_elements(r.content->'code'->'coding') c
        WHERE r.project_id = $1 AND r.resource_type = 'Observation' AND r.id = ANY($2) AND c->>'system' = 'http://loinc.org'
        GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`,
      [projectId, of('Observation')],
    );
    const year = await one<{ year: number; n: number }>(
      `SELECT substr(content->'period'->>'start', 1, 4)::int AS year, count(*)::int AS n FROM resource
        WHERE project_id = $1 AND resource_type = 'Encounter' AND id = ANY($2) AND content->'period'->>'start' IS NOT NULL
        GROUP BY 1 ORDER BY 2 DESC, 1 DESC LIMIT 1`,
      [projectId, of('Encounter')],
    );
    const patient = await one<{ id: string; n: number; family: string }>(
      `WITH counts AS (
         SELECT split_part(content->'subject'->>'reference', '/', 2) AS id, count(*)::int AS n FROM resource
          WHERE project_id = $1 AND resource_type = 'Observation' AND id = ANY($2) GROUP BY 1)
       SELECT c.id, c.n, p.content->'name'->0->>'family' AS family FROM counts c
         JOIN resource p ON p.project_id = $1 AND p.resource_type = 'Patient' AND p.id = c.id
        ORDER BY c.n, c.id OFFSET (SELECT count(*) / 2 FROM counts) LIMIT 1`,
      [projectId, of('Observation')],
    );
    const prefix = await one<{ prefix: string; n: number }>(
      `SELECT lower(substr(content->'name'->0->>'family', 1, 3)) AS prefix, count(*)::int AS n FROM resource
        WHERE project_id = $1 AND resource_type = 'Patient' AND id = ANY($2) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`,
      [projectId, of('Patient')],
    );
    return [
      { kind: 'token', query: `Observation?code=${encodeURIComponent(`http://loinc.org|${code.code}`)}`, picked: `the most frequent LOINC code (${code.n} Observations)` },
      { kind: 'date', query: `Encounter?date=ge${year.year}-01-01&date=lt${year.year + 1}-01-01`, picked: `the year most Encounters start in (${year.n})` },
      { kind: 'reference', query: `Observation?subject=Patient/${patient.id}`, picked: `the Patient with the median number of Observations (${patient.n})` },
      { kind: 'string', query: `Patient?name=${encodeURIComponent(prefix.prefix)}`, picked: `the most common start of a family name (${prefix.n} Patients)` },
      { kind: 'chain', query: `Observation?subject:Patient.name=${encodeURIComponent(patient.family)}`, picked: `the family name of that median Patient` },
      { kind: 'include', query: 'Encounter?_include=Encounter:patient', picked: 'the first page of Encounters with their Patients' },
    ];
  } finally {
    await client.end();
  }
}
