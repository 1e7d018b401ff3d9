/**
 * Chained parameters and `_has` (parse-chain.ts) as nested subqueries over the reference index
 * and the other resource's own rows and index tables, all inside the caller's project ($1):
 *
 *   Observation?subject:Patient.name=smith
 *     r.id = ANY(ARRAY(SELECT s.resource_id FROM search_reference s       -- Observation.subject rows
 *              WHERE s.project_id = $1 AND s.resource_type = $2 AND s.code = 'subject'
 *                AND s.target_type = 'Patient' AND s.target_id = ANY(ARRAY(
 *                  SELECT c.id FROM resource c                            -- current Patients ...
 *                  WHERE c.project_id = $1 AND c.resource_type = 'Patient' AND NOT c.deleted
 *                    AND c.id IN (SELECT s.resource_id FROM search_string s ...)))))  -- ... named smith
 *
 *   Patient?_has:Observation:patient:code=1234-5
 *     r.id = ANY(ARRAY(SELECT s.target_id FROM search_reference s         -- what Observation.patient points at
 *              WHERE s.project_id = $1 AND s.resource_type = 'Observation' AND s.code = 'patient'
 *                AND s.target_type = $2 AND s.resource_id = ANY(ARRAY(
 *                  SELECT h.id FROM resource h WHERE ... AND <Observation matches code>))))
 *
 * Each level is an uncorrelated `ARRAY(SELECT ...)`, so PostgreSQL runs it once, innermost
 * first, and the level around it looks its values up with an index scan (`= ANY`) on the
 * reference index's leading columns. Written as `IN (subquery)`, the levels become nested
 * semi-joins whose plan depends on statistics: without them (a fresh load, or PGlite, which has
 * no autovacuum) a two-level chain over a few hundred rows took minutes; this form is linear
 * in the rows each level finds whatever the statistics say.
 *
 * Each level's resource row has an alias of its own (numbered after its type's placeholder,
 * so unique in the statement), which is what the inner conditions are compiled against.
 * Joining the resource row keeps out deleted targets and makes `_id`, `_lastUpdated` and
 * `:missing` work at any level. Every value and type name is a parameter.
 */
import { compileFilter } from './compile-filter.js';
import type { ChainFilter, Criterion, HasFilter, LinkedFilter } from './parse-chain.js';
import { or, type CompileContext, type RowRef, type SqlParams } from './sql.js';

export function compileLinked(filter: LinkedFilter, params: SqlParams, ctx: CompileContext, row: RowRef): string {
  return filter.kind === 'chain' ? compileChain(filter, params, ctx, row) : compileHas(filter, params, ctx, row);
}

function compileCriterion(criterion: Criterion, params: SqlParams, ctx: CompileContext, row: RowRef): string {
  return 'kind' in criterion ? compileLinked(criterion, params, ctx, row) : compileFilter(criterion, params, ctx, row);
}

/**
 * The current rows of `typeName` (placeholder `type`) in the project that satisfy `criterion`
 * and the caller's access policy on that type, as `SELECT alias.id ...`: a chain or `_has`
 * never learns anything about a resource the caller could not search for directly.
 */
function matchingIds(prefix: string, typeName: string, type: string, criterion: Criterion, params: SqlParams, ctx: CompileContext): string {
  const a = `${prefix}${params.values.length}`;
  const row = { alias: a, type };
  const condition = compileCriterion(criterion, params, ctx, row);
  const access = ctx.access?.conditionFor(typeName, params, ctx, row);
  return `SELECT ${a}.id FROM resource ${a} WHERE ${a}.project_id = $1 AND ${a}.resource_type = ${type} AND NOT ${a}.deleted AND ${condition}${access === undefined ? '' : ` AND ${access}`}`;
}

function compileChain(chain: ChainFilter, params: SqlParams, ctx: CompileContext, row: RowRef): string {
  const code = params.add(chain.reference.code);
  const branches = chain.targets.map(({ type, criterion }) => {
    const target = params.add(type);
    return `(s.target_type = ${target} AND s.target_id = ANY(ARRAY(${matchingIds('c', type, target, criterion, params, ctx)})))`;
  });
  return `${row.alias}.id = ANY(ARRAY(SELECT s.resource_id FROM search_reference s
     WHERE s.project_id = $1 AND s.resource_type = ${row.type} AND s.code = ${code} AND ${or(branches)}))`;
}

function compileHas(has: HasFilter, params: SqlParams, ctx: CompileContext, row: RowRef): string {
  const code = params.add(has.reference.code);
  const source = params.add(has.sourceType);
  return `${row.alias}.id = ANY(ARRAY(SELECT s.target_id FROM search_reference s
     WHERE s.project_id = $1 AND s.resource_type = ${source} AND s.code = ${code} AND s.target_type = ${row.type}
       AND s.resource_id = ANY(ARRAY(${matchingIds('h', has.sourceType, source, has.criterion, params, ctx)}))))`;
}
