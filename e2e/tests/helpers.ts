import { expect, Page } from '@playwright/test';

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
