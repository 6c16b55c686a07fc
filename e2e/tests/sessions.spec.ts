import { test, expect } from '@playwright/test';
import { hydrated, logIn, register, uniqueUser } from './helpers';

test('sessions from two browsers: one revokes the other, which is signed out', { tag: '@pg-smoke' }, async ({ browser, baseURL }) => {
  const user = uniqueUser('sess');
  const laptop = await browser.newContext({ baseURL });
  const phone = await browser.newContext({ baseURL });
  const a = await laptop.newPage();
  const b = await phone.newPage();

  await register(a, user);
  await expect(a).toHaveURL(/\/login\?registered=1$/);
  await hydrated(a);
  await logIn(a, user.username);
  await expect(a).toHaveURL(/\/account$/);

  await b.goto('/login');
  await hydrated(b);
  await logIn(b, user.username);
  await expect(b).toHaveURL(/\/account$/);

  await a.getByRole('link', { name: /Sessions/ }).click();
  await expect(a).toHaveURL(/\/account\/sessions$/);
  const rows = a.getByTestId('session-row');
  await expect(rows).toHaveCount(2);
  await expect(a.locator('[data-current="true"]')).toContainText('This device');

  await a.locator('[data-current="false"]').getByRole('button', { name: /Revoke/ }).click();
  await expect(a).toHaveURL(/\/account\/sessions$/);
  await expect(a.getByTestId('session-row')).toHaveCount(1);

  // The other browser is signed out on its next request.
  await b.goto('/account');
  await expect(b.getByText('You are not signed in')).toBeVisible();
  await a.goto('/account');
  await expect(a.getByTestId('username')).toHaveText(user.username);

  await laptop.close();
  await phone.close();
});

test('changing the password keeps this session and shows a notice', async ({ page }) => {
  const user = uniqueUser('pw');
  await register(page, user);
  await hydrated(page);
  await logIn(page, user.username);
  await expect(page).toHaveURL(/\/account$/);
  await hydrated(page);
  await page.getByLabel('Current password').fill('Tr0ub4dor&Zebra!');
  await page.getByLabel('New password').fill('short');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Password must be at least 12 characters.')).toBeVisible();
  await page.getByLabel('New password').fill('An0ther-Strong-Phrase!');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page).toHaveURL(/password_changed=1/);
  await expect(page.getByRole('status').filter({ hasText: 'Your password was changed' })).toBeVisible();
  await expect(page.getByTestId('username')).toHaveText(user.username);
});
