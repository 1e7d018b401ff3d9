/** Chooses the driver from the config: PostgreSQL when `DATABASE_URL` is set, else embedded PGlite in `DATA_DIR`. */
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Database } from './database.js';
import { openPgDatabase } from './pg-database.js';
import { openPgliteDatabase } from './pglite-database.js';

export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'databasePoolSize' | 'dataDir'>): Promise<Database> {
  if (config.databaseUrl) {
    return openPgDatabase(config.databaseUrl, config.databasePoolSize);
  }
  return openPgliteDatabase(join(config.dataDir, 'pglite'));
}
