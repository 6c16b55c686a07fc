import { test, expect } from '@playwright/test';
import { hydrated, logIn, register, uniqueUser } from './helpers';

// The e2e servers run without APP_WORKSHOP: workshop mode must be invisible.
// (The mode itself, on, is covered end to end by backend/tests/api/workshop.rs.)
test('workshop mode is off by default: no banner, no link, the page says so', async ({ page, request }) => {
  const user = uniqueUser('ws');
  await register(page, user);
  await hydrated(page);
  await logIn(page, user.username);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('workshop-banner')).toHaveCount(0);
  await expect(page.getByTestId('nav-workshop')).toHaveCount(0);

  await page.goto('/workshop');
  await hydrated(page);
  await expect(page.getByTestId('workshop-off')).toContainText('Workshop mode is off');
  await expect(page.getByTestId('workshop-banner')).toHaveCount(0);

  const api = await request.get('/api/v1/workshop/challenges');
  expect(api.status()).toBe(404);
});
