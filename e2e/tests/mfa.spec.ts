import { test, expect } from '@playwright/test';
import { hydrated, logIn, register, totp, uniqueUser } from './helpers';

test('enrol in two-factor authentication, then log in with a code and with a recovery code', async ({ page, browser, baseURL }) => {
  const user = uniqueUser('mfa');
  await register(page, user);
  await hydrated(page);
  await logIn(page, user.username);
  await expect(page).toHaveURL(/\/account$/);
  await hydrated(page);

  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  await expect(page.getByRole('img', { name: /QR code/ })).toBeVisible();
  const secret = await page.getByTestId('totp-secret').getAttribute('data-secret');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await page.getByLabel('Authentication code').fill(totp(secret!));
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  const codes = page.getByTestId('recovery-codes').locator('li');
  await expect(codes).toHaveCount(10);
  const recovery = (await codes.first().innerText()).trim();
  await expect(page.getByRole('link', { name: 'Download the codes' })).toHaveAttribute('download', 'recovery-codes.txt');
  await page.getByRole('link', { name: 'I have saved them' }).click();
  await expect(page.getByTestId('mfa-status')).toContainText('On since');
  await expect(page.getByTestId('recovery-remaining')).toHaveText('10');

  // Log out and back in: the code step follows the password step.
  await page.getByRole('main').getByRole('button', { name: 'Log out' }).click();
  await page.goto('/login');
  await hydrated(page);
  await logIn(page, user.username);
  await expect(page.getByLabel('Authentication code')).toBeVisible();
  // The enrolment used the current step; the next step is within the ±1 window.
  await page.getByLabel('Authentication code').fill(totp(secret!, Date.now() + 30_000));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('username')).toHaveText(user.username);

  // Without JavaScript: password, then a recovery code, through plain forms.
  const nojs = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const p2 = await nojs.newPage();
  await p2.goto('/login');
  await logIn(p2, user.username);
  await expect(p2).toHaveURL(/\/login\?step=mfa$/);
  await p2.getByLabel('Authentication code').fill(recovery);
  await p2.getByRole('button', { name: 'Verify' }).click();
  await expect(p2).toHaveURL(/\/account$/);
  await expect(p2.getByTestId('recovery-remaining')).toHaveText('9');
  await nojs.close();
});
