/** `tessera serve` (and `npm start`): migrate, bootstrap the super admin, listen. */
import { buildApp } from '../app.js';
import { ensureSuperAdmin } from '../admin/super-admin.js';
import type { Config } from '../config.js';
import { lockDataDir } from '../db/data-dir-lock.js';
import { closeDeps, openDeps } from '../open-deps.js';
import type { AppDeps } from '../deps.js';

export interface RunningServer {
  url: string;
  deps: AppDeps;
  close(): Promise<void>;
}

export async function serve(config: Config, log: (line: string) => void = console.log): Promise<RunningServer> {
  const started = performance.now();
  const unlock = config.databaseUrl ? () => undefined : lockDataDir(config.dataDir);
  let deps: AppDeps;
  try {
    log(config.databaseUrl ? 'Database: PostgreSQL (DATABASE_URL)' : `Database: embedded PGlite in ${config.dataDir}`);
    deps = await openDeps(config, {
      onMigration: ({ migration, index, total }) => log(`Migrating [${index + 1}/${total}] ${migration.name}`),
    });
  } catch (err) {
    unlock();
    throw err;
  }
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    await bootstrapAdmin(deps, log);
    app = await buildApp(deps, { logger: config.logLevel === 'silent' ? false : { level: config.logLevel } });
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    // E.g. the port is taken: give back the database and the data dir before failing.
    await app?.close().catch(() => undefined);
    await closeDeps(deps).catch(() => undefined);
    unlock();
    throw err;
  }
  const listening = app;
  log(`Tessera is ready at ${config.baseUrl} (FHIR: ${config.baseUrl}fhir/R4) in ${Math.round(performance.now() - started)} ms`);
  return {
    url: config.baseUrl,
    deps,
    async close() {
      await listening.close();
      await closeDeps(deps);
      unlock();
    },
  };
}

async function bootstrapAdmin(deps: AppDeps, log: (line: string) => void): Promise<void> {
  const { adminEmail, adminPassword } = deps.config;
  if (adminEmail) {
    const result = await ensureSuperAdmin(deps, { email: adminEmail, password: adminPassword });
    log(result.created ? `Created super admin ${adminEmail} (project ${result.projectId})` : `Super admin ${adminEmail} exists`);
    return;
  }
  const { rows } = await deps.db.query(`SELECT 1 FROM resource WHERE resource_type = 'Project' AND NOT deleted AND content->>'superAdmin' = 'true' LIMIT 1`);
  if (rows.length === 0) {
    log('No super admin yet. Set ADMIN_EMAIL and ADMIN_PASSWORD and restart, or run (with the server stopped when on the embedded database):');
    log('  npx tessera create-admin --email you@example.com   (reads the password from TESSERA_PASSWORD or stdin)');
  }
}
