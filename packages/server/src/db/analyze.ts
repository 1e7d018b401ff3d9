/**
 * Fresh planner statistics after many rows were written (an import, a bulk invite). Without
 * them the planner guesses on the new rows, and PGlite has no autovacuum to gather them later.
 * ANALYZE samples a bounded number of rows: seconds at most, even at millions of rows.
 */
import type { Database } from './database.js';

/** The tables resource writes fill: the resources, their history and the search index. */
export const RESOURCE_TABLES = [
  'resource',
  'resource_history',
  'search_token',
  'search_string',
  'search_reference',
  'search_date',
  'search_number',
  'search_quantity',
  'search_uri',
] as const;

export type ResourceTable = (typeof RESOURCE_TABLES)[number];

export async function analyzeTables(db: Database, tables: readonly ResourceTable[] = RESOURCE_TABLES): Promise<void> {
  for (const table of tables) {
    await db.exec(`ANALYZE ${table}`);
  }
}
