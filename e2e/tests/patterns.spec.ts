import { test, expect, Page } from '@playwright/test';
import { hydrated, logIn, register, uniqueUser } from './helpers';

async function signIn(page: Page, prefix: string) {
  const user = uniqueUser(prefix);
  await register(page, user);
  await expect(page).toHaveURL(/\/login\?registered=1$/);
  await hydrated(page);
  await logIn(page, user.username);
  await expect(page).toHaveURL(/\/account$/);
}

test('the Patterns area is public and links to every page', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('nav-patterns').click();
  await expect(page).toHaveURL(/\/patterns$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Security patterns' })).toBeVisible();
  const index = page.getByTestId('patterns-index');
  await expect(index.getByRole('link')).toHaveCount(8);
  await index.getByRole('link', { name: 'Zero Trust' }).click();
  await expect(page).toHaveURL(/\/patterns\/zero-trust$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Zero Trust' })).toBeVisible();
  await expect(page.getByTestId('code-refs')).toContainText('backend/src/security/policy.rs');
  // Signed out, the demos acting as a user ask to sign in.
  await expect(page.getByTestId('demo-device-sign-in')).toBeVisible();
});

test('a forged X-Is-Admin header is refused and recorded in my activity', async ({ page }) => {
  await signIn(page, 'pat');
  await page.goto('/patterns/anti-patterns');
  await hydrated(page);
  await expect(page.getByText('BAD (text only, never compiled)').first()).toBeVisible();
  await page.getByTestId('demo-forged-header-run').click();
  await expect(page.getByTestId('demo-forged-header-status')).toHaveText('403');
  await expect(page.getByTestId('demo-forged-header-request')).toContainText('X-Is-Admin: true');
  await expect(page.getByTestId('demo-forged-header-response')).toContainText('"error": "forbidden"');
  const audit = page.getByTestId('demo-forged-header-audit');
  await expect(audit).toContainText('"action": "access.forged_header"');
  await expect(audit).toContainText('"header": "x-is-admin"');
});

test('the 500 demo shows only a request id', async ({ page }) => {
  await signIn(page, 'pat500');
  await page.goto('/patterns/anti-patterns');
  await hydrated(page);
  await page.getByTestId('demo-fail-run').click();
  await expect(page.getByTestId('demo-fail-status')).toHaveText('500');
  const response = page.getByTestId('demo-fail-response');
  await expect(response).toContainText('"error": "internal server error"');
  await expect(response).toContainText('"request_id"');
  await expect(response).not.toContainText('ledger-db');
});

test('the password policy page gives both verdicts without signing in', async ({ page }) => {
  await page.goto('/patterns/password-policy');
  await hydrated(page);
  await page.getByTestId('demo-password-input').fill('plain words make a long phrase');
  await page.getByTestId('demo-password-run').click();
  await expect(page.getByTestId('demo-password-status')).toHaveText('200');
  const result = page.getByTestId('demo-password-result');
  await expect(result).toContainText('catalogue: refused');
  await expect(result).toContainText('nist: accepted');
  await expect(page.getByTestId('demo-password-request')).not.toContainText('plain words');
});
