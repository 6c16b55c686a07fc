import { test, expect } from '@playwright/test';
import { hydrated, logIn, register, uniqueUser, PASSWORD } from './helpers';

test('register, log in, see the account page, log out (JavaScript on)', { tag: '@pg-smoke' }, async ({ page, context }) => {
  const user = uniqueUser('js');
  await page.goto('/register');
  await hydrated(page);
  await register(page, user);
  await expect(page).toHaveURL(/\/login\?registered=1$/);
  await expect(page.getByRole('status')).toContainText('Account created');

  await hydrated(page);
  await logIn(page, user.username);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
  await expect(page.getByTestId('username')).toHaveText(user.username);
  await expect(page.getByTestId('email')).toHaveText(user.email);
  // A self-registered address is a claim until it is proven.
  await expect(page.getByTestId('email-unverified')).toHaveText('unverified');

  // ASVS 3.4: the auth cookies' flags, as the browser stored them.
  const cookies = await context.cookies();
  for (const name of ['__Host-access', '__Host-refresh']) {
    const cookie = cookies.find((c) => c.name === name);
    expect(cookie, name).toBeDefined();
    expect(cookie!.httpOnly).toBe(true);
    expect(cookie!.secure).toBe(true);
    expect(cookie!.sameSite).toBe('Strict');
    expect(cookie!.path).toBe('/');
  }
  // HttpOnly: page scripts cannot read the tokens.
  expect(await page.evaluate(() => document.cookie)).not.toContain('__Host-');

  await page.getByRole('main').getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('navigation').getByRole('link', { name: 'Log in' })).toBeVisible();
  expect((await context.cookies()).filter((c) => c.name.startsWith('__Host-'))).toEqual([]);

  await page.goto('/account');
  await expect(page.getByText('You are not signed in')).toBeVisible();
});

test('a wrong password is reported in place, without reloading', async ({ page }) => {
  const user = uniqueUser('wrong');
  await register(page, user);
  await expect(page).toHaveURL(/\/login/);
  await hydrated(page);
  await logIn(page, user.username, 'Not-the-right-one-1!');
  await expect(page.getByRole('alert').filter({ hasText: 'invalid username, e-mail or password' })).toBeVisible();
  await expect(page).toHaveURL(/\/login/);
});

test('register, log in, see the account page, log out (JavaScript off)', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const page = await context.newPage();
  const user = uniqueUser('nojs');

  // Server-side errors come back through the redirect and are shown.
  await register(page, { username: 'x', email: 'not-an-email' }, 'short');
  await expect(page).toHaveURL(/\/register\?/);
  await expect(page.getByText('Username must be at least 3 characters.')).toBeVisible();
  await expect(page.getByText('Enter a valid e-mail address')).toBeVisible();

  await register(page, user);
  await expect(page).toHaveURL(/\/login\?registered=1$/);
  await logIn(page, user.username, PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('username')).toHaveText(user.username);
  await page.getByRole('main').getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/account');
  await expect(page.getByText('You are not signed in')).toBeVisible();
  await context.close();
});
