import { test, expect } from '@playwright/test';
import { createAdmin, enrolMfa, hydrated, logIn, uniqueUser } from './helpers';

test('an admin registers an OAuth client, sees its secret once, edits, rotates and deletes it', async ({ page }, info) => {
  const admin = uniqueUser('oca');
  createAdmin(info.project.name, admin);
  await page.goto('/login');
  await hydrated(page);
  await logIn(page, admin.username);
  await expect(page).toHaveURL(/\/account$/);
  await enrolMfa(page);

  // Client changes need a registered device, like role changes.
  await page.goto('/account');
  await hydrated(page);
  await page.getByTestId('device-label').fill('Admin laptop');
  await page.getByTestId('device-register').click();
  await expect(page.getByTestId('my-device-row')).toHaveCount(1);

  await page.goto('/admin/oauth-clients');
  await hydrated(page);
  const name = `Reports ${uniqueUser('c').username}`;
  await page.getByTestId('new-client-name').fill(name);
  await page.getByTestId('new-client-redirect-uris').fill('https://reports.example/cb\nhttp://127.0.0.1/cb');
  await page.getByTestId('new-client-scope-account').check();
  await page.getByTestId('new-client-submit').click();
  await expect(page.getByTestId('action-done')).toHaveText('Confidential client registered.');
  const first = (await page.getByTestId('client-secret').textContent())!;
  expect(first.length).toBeGreaterThan(20);
  const row = page.locator('[data-testid="client-row"]', { hasText: name });
  await expect(row.getByTestId('client-type')).toHaveText('Confidential');
  await expect(row.getByTestId('client-scopes')).toHaveText('account');

  // Shown once: not after a reload.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('client-row').first()).toBeVisible();
  await expect(page.getByTestId('client-secret')).toHaveCount(0);
  expect(await page.content()).not.toContain(first);

  // Edit the name.
  await row.getByTestId('client-edit').click();
  await page.getByTestId('edit-client-name').fill(`${name} v2`);
  await page.getByTestId('edit-client-submit').click();
  await expect(page.getByTestId('action-done')).toHaveText('Client saved.');
  const edited = page.locator('[data-testid="client-row"]', { hasText: `${name} v2` });
  await expect(edited).toHaveCount(1);

  // A new secret, after a confirmation.
  await edited.getByTestId('client-rotate').click();
  await edited.getByTestId('client-confirm').click();
  await expect(page.getByTestId('client-secret')).toBeVisible();
  expect(await page.getByTestId('client-secret').textContent()).not.toBe(first);
  await page.getByTestId('client-secret-done').click();
  await expect(page.getByTestId('client-secret')).toHaveCount(0);

  // Delete, after a confirmation.
  await edited.getByTestId('client-delete').click();
  await edited.getByTestId('client-confirm').click();
  await expect(page.getByTestId('action-done')).toContainText('Deleted');
  await expect(edited).toHaveCount(0);

  // Each change is in the audit log.
  for (const action of ['created', 'updated', 'secret_rotated', 'deleted']) {
    await page.goto(`/admin/audit?action=oauth.client_${action}`);
    await expect(page.locator(`[data-testid="audit-row"][data-action="oauth.client_${action}"]`).first()).toBeVisible();
  }
});
