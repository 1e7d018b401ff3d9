/**
 * What PostgreSQL does with a search's statements: each one run under
 * `EXPLAIN (ANALYZE, BUFFERS)` with the parameters Tessera sends (search-statements.ts), a few
 * times so the figure is from a warm cache. Reports the execution time, the scans the plan uses
 * (a Seq Scan on a table that grows with the data is what the 2x target is about), and, for the
 * query the results file shows in full, the plan as text.
 */
import type pg from 'pg';
import type { Statement } from './statement-recorder.js';

export interface StatementPlan {
  /** Median execution time over the runs, as EXPLAIN ANALYZE reports it (ms). */
  executionMs: number;
  /** Distinct scans: "Index Only Scan using search_token_value_idx", "Seq Scan on resource". */
  scans: string[];
  /** Rows the top node returned. */
  rows: number;
}

export interface SearchPlan {
  statements: StatementPlan[];
  executionMs: number;
  scans: string[];
  seqScans: string[];
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

const RUNS = 3;

function collectScans(node: PlanNode, into: Set<string>): void {
  const type = node['Node Type'];
  if (type.endsWith('Scan') && (node['Index Name'] || node['Relation Name'])) {
    into.add(node['Index Name'] ? `${type} using ${node['Index Name']}` : `${type} on ${node['Relation Name']}`);
  }
  for (const child of node.Plans ?? []) collectScans(child, into);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export async function explainSearch(client: pg.Client, statements: Statement[]): Promise<SearchPlan> {
  const plans: StatementPlan[] = [];
  for (const statement of statements) {
    const times: number[] = [];
    let last: { Plan: PlanNode; 'Execution Time': number } | undefined;
    for (let i = 0; i < RUNS; i++) {
      const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode; 'Execution Time': number }> }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.sql}`,
        statement.params,
      );
      last = rows[0]?.['QUERY PLAN'][0];
      times.push(last?.['Execution Time'] ?? 0);
    }
    const scans = new Set<string>();
    if (last) collectScans(last.Plan, scans);
    plans.push({ executionMs: median(times), scans: [...scans].sort(), rows: last?.Plan['Actual Rows'] ?? 0 });
  }
  const scans = [...new Set(plans.flatMap((p) => p.scans))].sort();
  return {
    statements: plans,
    executionMs: plans.reduce((n, p) => n + p.executionMs, 0),
    scans,
    seqScans: scans.filter((s) => s.startsWith('Seq Scan')),
  };
}

/** The plans as text, each statement's SQL and parameters first, for the results file. */
export async function explainText(client: pg.Client, statements: Statement[]): Promise<string> {
  const parts: string[] = [];
  for (const [i, statement] of statements.entries()) {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${statement.sql}`, statement.params);
    parts.push(
      `-- statement ${i + 1} of ${statements.length}\n${statement.sql.replace(/\n\s+/g, '\n  ')}\n-- parameters: ${showParams(statement.params)}\n\n` +
        rows.map((r) => r['QUERY PLAN']).join('\n'),
    );
  }
  return parts.join('\n\n');
}

/** Parameters for reading: long arrays (the ids an `_include` follows) shortened to their first few. */
function showParams(params: unknown[]): string {
  const show = (value: unknown): string =>
    Array.isArray(value) && value.length > 3 ? `[${value.slice(0, 3).map(show).join(', ')}, … ${value.length} in all]` : JSON.stringify(value);
  return `[${params.map(show).join(', ')}]`;
}
