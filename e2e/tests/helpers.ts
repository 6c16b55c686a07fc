import { expect, Page } from '@playwright/test';
import { execFileSync } from 'child_process';
import { backendBinary, serverEnv } from '../playwright.config';

export const PASSWORD = 'Tr0ub4dor&Zebra!';

/** A username no other run has used (the PostgreSQL database outlives a run). */
export function uniqueUser(prefix = 'u'): { username: string; email: string } {
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const username = `${prefix}_${id}`;
  return { username, email: `${username}@example.org` };
}

/** Waits until the wasm bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
}

export async function register(page: Page, user: { username: string; email: string }, password = PASSWORD) {
  await page.goto('/register');
  await page.getByLabel('E-mail').fill(user.email);
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
}

export async function logIn(page: Page, login: string, password = PASSWORD) {
  await page.getByLabel('Username or e-mail').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) from a base32 key, as an authenticator app computes it. */
export function totp(base32: string, atMillis = Date.now()): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require('crypto') as typeof import('crypto');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of base32.replace(/[\s=]/g, '').toUpperCase()) {
    bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMillis / 1000 / 30)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

/** Creates an administrator with the `backend create-admin` command, on the
 * same database as this project's server. */
export function createAdmin(projectName: string, user: { username: string; email: string }) {
  execFileSync(backendBinary, ['create-admin', '--username', user.username, '--email', user.email], {
    env: { ...process.env, ...serverEnv(projectName), RUST_LOG: 'error' },
    input: `${PASSWORD}\n`,
  });
}

/** Enrols the signed-in user in MFA from the account page; returns the key. */
export async function enrolMfa(page: Page): Promise<string> {
  await page.goto('/account');
  await hydrated(page);
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  const secret = (await page.getByTestId('totp-secret').getAttribute('data-secret'))!;
  await page.getByLabel('Authentication code').fill(totp(secret));
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  await expect(page.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
  await page.getByRole('link', { name: 'I have saved them' }).click();
  return secret;
}
