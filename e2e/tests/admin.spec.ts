import { test, expect } from '@playwright/test';
import { createAdmin, enrolMfa, hydrated, logIn, register, uniqueUser } from './helpers';

test('an admin with MFA finds a user, changes their role with a registered device, and sees it recorded', { tag: '@pg-smoke' }, async ({ page }, info) => {
  const admin = uniqueUser('adm');
  const target = uniqueUser('tgt');
  createAdmin(info.project.name, admin);
  await register(page, target);
  // The hydrated form navigates on its own once registered: wait for it.
  await expect(page).toHaveURL(/\/login\?registered=1$/);
  await hydrated(page);
  await logIn(page, admin.username);
  await expect(page).toHaveURL(/\/account$/);
  await enrolMfa(page);

  // Role changes need a registered device: register this browser.
  await page.goto('/account');
  await hydrated(page);
  await page.getByTestId('device-label').fill('Admin laptop');
  await page.getByTestId('device-register').click();
  await expect(page.getByTestId('my-device-row')).toHaveCount(1);
  await expect(page.getByTestId('my-device-row')).toHaveAttribute('data-current', 'true');

  // The dashboard.
  await page.getByTestId('nav-admin').click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByTestId('activity-chart')).toBeVisible();
  await expect(page.getByTestId('elevated')).toBeVisible();

  // Search the user and open them.
  await page.goto('/admin/users');
  await hydrated(page);
  await page.getByTestId('user-search').fill(target.username);
  await page.getByTestId('user-search').press('Enter');
  await expect(page.getByTestId('user-row')).toHaveCount(1);
  await page.getByTestId('user-row').getByRole('link').first().click();
  await expect(page.getByTestId('user-detail-name')).toHaveText(target.username);
  await hydrated(page);

  // Grant the auditor role for an hour.
  await page.getByTestId('role-select').selectOption('auditor');
  await page.getByTestId('role-expires').fill('60');
  await page.getByTestId('role-grant').click();
  await expect(page.getByTestId('action-done')).toBeVisible();
  await expect(page.locator('[data-testid="role-row"][data-role="auditor"]')).toBeVisible();

  // The change is in the audit log and the decisions feed.
  await page.goto('/admin/audit?action=role.grant');
  await expect(page.locator('[data-testid="audit-row"][data-action="role.grant"]').first()).toBeVisible();
  // The hash chain checks out.
  await hydrated(page);
  await page.getByTestId('audit-verify').click();
  await expect(page.getByTestId('audit-verify-result')).toHaveText(/^Intact: \d+ entries checked$/);
  await page.goto('/admin/decisions?route=%2Fapi%2Fv1%2Fadmin%2Fusers%2F%7Bid%7D%2Froles');
  await expect(page.locator('[data-testid="decision-row"][data-outcome="allow"]').first()).toBeVisible();
});

test('an ordinary user gets the "not allowed" page at /admin, and the denial is recorded', async ({ page, browser, baseURL }, info) => {
  const user = uniqueUser('plain');
  await register(page, user);
  await expect(page).toHaveURL(/\/login\?registered=1$/);
  await hydrated(page);
  await logIn(page, user.username);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('nav-admin')).toHaveCount(0);
  const response = await page.goto('/admin');
  expect(response!.status()).toBe(403);
  await expect(page.getByRole('heading', { name: 'Not allowed' })).toBeVisible();

  // An auditor or admin sees that denial in the decisions feed.
  const admin = uniqueUser('adm');
  createAdmin(info.project.name, admin);
  const ctx = await browser.newContext({ baseURL });
  const p2 = await ctx.newPage();
  await p2.goto('/login');
  await hydrated(p2);
  await logIn(p2, admin.username);
  await expect(p2).toHaveURL(/\/account$/);
  await enrolMfa(p2);
  await p2.goto('/admin/decisions?outcome=deny&reason=missing_permission');
  await expect(p2.locator('[data-testid="decision-row"][data-outcome="deny"]').first()).toBeVisible();
  await ctx.close();
});
