/**
 * The SQL of one round of `_include` or `_revinclude` (include.ts decides the rounds). One
 * statement per direction and round: the reference parameters to follow come in as arrays
 * (`unnest` of source type, code and optional target type), each joined to the reference index
 * on its leading columns, so the statement is a handful of index scans whatever the number of
 * parameters. `$1` is the project, supplied by ResourceStore from the caller's Scope; the
 * included resources are read from that project only, never from one a reference merely names.
 * Types the caller may not read are excluded here, in the statement, as are resources already
 * in the Bundle; the order is fixed so that a capped result is the same on every call.
 */
import { SqlParams } from './sql.js';

/** A statement over resources of any type in one project: `$1` is the project, `params` are `$2` onwards. */
export interface ProjectQuery {
  sql: string;
  params: unknown[];
}

/** A reference parameter to follow: `code` of `sourceType`, optionally only towards `targetType`. */
export interface FollowedParam {
  sourceType: string;
  code: string;
  targetType: string | null;
}

export interface RelatedQuery {
  follow: FollowedParam[];
  /** The resources to follow references from (`_include`) or to (`_revinclude`), as `Type/id`. */
  from: string[];
  unreadable: readonly string[];
  /** `Type/id` of the resources already in the Bundle. */
  exclude: string[];
  limit: number;
  /** The caller's access policy on the rows read (`r`), when one narrows it (src/fhir/access-policy/policy-sql.ts). */
  restrict?: RowRestriction;
}

/** An extra condition on the resource row `alias` of any type; undefined when nothing is restricted. */
export type RowRestriction = (params: SqlParams, alias: string) => string | undefined;

const COLUMNS = 'r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.content';

/** Resources that the `from` resources point at through the followed parameters. */
export function buildIncludeQuery(query: RelatedQuery): ProjectQuery {
  const params = new SqlParams(1);
  const pairs = unnestFollowed(query.follow, params);
  const ids = params.add(query.from.map(idOf), 'text[]');
  const refs = params.add(query.from, 'text[]');
  const related = `SELECT DISTINCT s.target_type, s.target_id FROM ${pairs}
    JOIN search_reference s ON s.project_id = $1 AND s.resource_type = p.source_type AND s.code = p.code
    WHERE s.resource_id = ANY(${ids}) AND (s.resource_type || '/' || s.resource_id) = ANY(${refs})
      AND s.target_type IS NOT NULL AND (p.target_type IS NULL OR s.target_type = p.target_type)`;
  return finish(related, query, params);
}

/** Resources that point at the `from` resources through the followed parameters. */
export function buildRevincludeQuery(query: RelatedQuery): ProjectQuery {
  const params = new SqlParams(1);
  const pairs = unnestFollowed(query.follow, params);
  const ids = params.add(query.from.map(idOf), 'text[]');
  const refs = params.add(query.from, 'text[]');
  const related = `SELECT DISTINCT s.resource_type, s.resource_id FROM ${pairs}
    JOIN search_reference s ON s.project_id = $1 AND s.resource_type = p.source_type AND s.code = p.code
    WHERE s.target_id = ANY(${ids}) AND (s.target_type || '/' || s.target_id) = ANY(${refs})
      AND (p.target_type IS NULL OR s.target_type = p.target_type)`;
  return finish(related, query, params);
}

function unnestFollowed(follow: FollowedParam[], params: SqlParams): string {
  const types = params.add(follow.map((f) => f.sourceType), 'text[]');
  const codes = params.add(follow.map((f) => f.code), 'text[]');
  const targets = params.add(follow.map((f) => f.targetType), 'text[]');
  return `unnest(${types}, ${codes}, ${targets}) AS p(source_type, code, target_type)`;
}

function finish(related: string, query: RelatedQuery, params: SqlParams): ProjectQuery {
  const conditions = [
    `r.resource_type <> ALL(${params.add(query.unreadable, 'text[]')})`,
    `(r.resource_type || '/' || r.id) <> ALL(${params.add(query.exclude, 'text[]')})`,
  ];
  const restricted = query.restrict?.(params, 'r');
  if (restricted !== undefined) {
    conditions.push(restricted);
  }
  return { sql: selectRelated(related, conditions, params.add(query.limit, 'integer')), params: params.values };
}

/**
 * The current resources whose (type, id) the `related` query lists, ordered by type and id.
 * `related` is computed once (a materialized CTE); its types and ids then become `= ANY`
 * arrays on the primary key's columns, so the resource table is read by an index scan of
 * just those keys, whatever the planner's statistics (see compile-chain.ts for why).
 */
export function selectRelated(related: string, conditions: string[], limit: string): string {
  return `WITH related (resource_type, id) AS MATERIALIZED (${related})
    SELECT ${COLUMNS} FROM resource r
    WHERE r.project_id = $1
      AND r.resource_type = ANY(ARRAY(SELECT DISTINCT resource_type FROM related))
      AND r.id = ANY(ARRAY(SELECT DISTINCT id FROM related))
      AND (r.resource_type, r.id) IN (SELECT resource_type, id FROM related)
      AND NOT r.deleted${conditions.map((c) => ` AND ${c}`).join('')}
    ORDER BY r.resource_type, r.id
    LIMIT ${limit}`;
}

function idOf(reference: string): string {
  return reference.slice(reference.indexOf('/') + 1);
}
