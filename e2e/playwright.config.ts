import { defineConfig } from '@playwright/test';
import * as path from 'path';
import * as fs from 'fs';

// Playwright drives Debian's chromium: no browser is downloaded.
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const root = path.resolve(__dirname, '..');
const binary = path.join(root, 'target', 'debug', 'backend');

type Db = { name: string; port: number; databaseUrl?: string };
const databases: Db[] = [{ name: 'sqlite', port: Number(process.env.E2E_SQLITE_PORT ?? 3100) }];
if (process.env.E2E_DATABASE_URL) {
  databases.push({
    name: 'postgres',
    port: Number(process.env.E2E_POSTGRES_PORT ?? 3101),
    databaseUrl: process.env.E2E_DATABASE_URL,
  });
}

/** The environment of the server for `db`; the tests reuse it to run the
 * `backend` CLI (create-admin) against the same database. `scripts/test`
 * empties target/e2e-data before a run. */
export function serverEnv(dbName: string): Record<string, string> {
  const db = databases.find((d) => d.name === dbName) ?? databases[0];
  const dataDir = path.join(root, 'target', 'e2e-data', db.name);
  fs.mkdirSync(dataDir, { recursive: true });
  const env: Record<string, string> = {
    APP_ADDR: `127.0.0.1:${db.port}`,
    APP_DATA_DIR: dataDir,
    LEPTOS_SITE_ROOT: path.join(root, 'target', 'site'),
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
    // Every test signs in from 127.0.0.1: the default 10/minute would trip.
    RATE_LIMIT_AUTH: '1000/minute',
    RATE_LIMIT_IP: '100000/minute',
  };
  if (db.databaseUrl) env.DATABASE_URL = db.databaseUrl;
  return env;
}

export const backendBinary = binary;

function server(db: Db) {
  const env = serverEnv(db.name);
  return {
    command: binary,
    cwd: root,
    env,
    url: `http://127.0.0.1:${db.port}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe' as const,
    stderr: 'pipe' as const,
  };
}

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  webServer: databases.map(server),
  use: {
    launchOptions: {
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  // Every test on SQLite; on PostgreSQL a smoke of the flows that write
  // most (registration, MFA sign-in, an audited role change, session
  // revocation across browsers): the integration tests already run every
  // API path on both databases, and the pages read through the same API.
  projects: databases.map((db) => ({
    name: db.name,
    use: { baseURL: `http://127.0.0.1:${db.port}` },
    grep: db.name === 'postgres' ? /@pg-smoke/ : undefined,
  })),
});
