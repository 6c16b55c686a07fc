import { test, expect } from '@playwright/test';
import { hydrated, logIn, register, totp, uniqueUser } from './helpers';

test('store an SSN, see it masked, reveal it after a second factor, and it hides again', async ({ page }) => {
  const user = uniqueUser('ssn');
  await register(page, user);
  await hydrated(page);
  await logIn(page, user.username);
  await expect(page).toHaveURL(/\/account$/);
  await hydrated(page);

  // Invalid numbers are explained before anything is sent.
  await page.getByTestId('ssn-input').fill('666-12-3456');
  await page.getByTestId('ssn-save').click();
  await expect(page.getByText('No SSN starts with 000, 666 or 9')).toBeVisible();

  await page.getByTestId('ssn-input').fill('123-45-6789');
  await page.getByTestId('ssn-save').click();
  await expect(page.getByTestId('ssn-value')).toHaveText('***-**-6789');
  // The typed number does not stay on screen.
  await expect(page.getByTestId('ssn-input')).toHaveValue('');

  // Without a second factor on this account, revealing is refused.
  await page.getByTestId('ssn-reveal').click();
  await expect(page.getByTestId('step-up-code')).toBeVisible();

  // Turn on MFA (which also counts as a fresh check), then reveal.
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  const secret = (await page.getByTestId('totp-secret').getAttribute('data-secret'))!;
  await page.getByLabel('Authentication code', { exact: true }).last().fill(totp(secret));
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  await page.getByRole('link', { name: 'I have saved them' }).click();
  await hydrated(page);
  await page.getByTestId('ssn-reveal').click();
  await expect(page.getByTestId('ssn-value')).toHaveText('123-45-6789');
  await page.getByTestId('ssn-hide').click();
  await expect(page.getByTestId('ssn-value')).toHaveText('***-**-6789');

  // After a reload the page shows the masked form only.
  await page.reload();
  await expect(page.getByTestId('ssn-value')).toHaveText('***-**-6789');
  expect(await page.content()).not.toContain('123-45-6789');
});
