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

/** Steps 1–4: verifier and state, challenge, the authorization server and
 * its consent page, and back with a code whose state matches. */
async function authorize(page: Page) {
  await page.getByTestId('pg-generate').click();
  const verifier = page.getByTestId('pg-verifier');
  await expect(verifier).toHaveText(/^[A-Za-z0-9_-]{43}$/);
  await expect(page.getByTestId('pg-challenge')).toHaveText(/^[A-Za-z0-9_-]{43}$/);
  await expect(page.getByTestId('pg-authorize-url')).toContainText('code_challenge_method=S256');
  const sentVerifier = await verifier.textContent();
  // The verifier itself never goes to the authorization server.
  expect(await page.getByTestId('pg-authorize-url').textContent()).not.toContain(sentVerifier!);

  await page.getByTestId('pg-authorize').click();
  await expect(page.getByRole('heading', { name: 'Allow access?' })).toBeVisible();
  await expect(page.getByTestId('consent-client')).toHaveText('OAuth playground');
  await page.getByRole('button', { name: 'Allow' }).click();

  await hydrated(page);
  // The code does not stay in the address bar.
  await expect(page).toHaveURL(/\/playground\/oauth$/);
  await expect(page.getByTestId('pg-code')).toHaveText(/^[A-Za-z0-9_-]{20,}$/);
  await expect(page.getByTestId('pg-state-check')).toHaveText(/^match/);
  await expect(page.getByTestId('pg-verifier')).toHaveText(sentVerifier!);
}

test('the OAuth playground walks through the code flow with PKCE', async ({ page }) => {
  await signIn(page, 'pg');
  await page.getByTestId('nav-playground').click();
  await expect(page).toHaveURL(/\/playground\/oauth$/);
  await hydrated(page);
  await authorize(page);

  await expect(page.getByTestId('pg-token-request')).toContainText('code_verifier=');
  await page.getByTestId('pg-exchange').click();
  await expect(page.getByTestId('pg-token-status')).toHaveText('200');
  const response = page.getByTestId('pg-token-response');
  await expect(response).toContainText('"token_type": "Bearer"');
  await expect(response).toContainText('masked');

  const claims = page.getByTestId('pg-jwt-claims');
  await expect(claims).toContainText('"client_id": "oauth-playground"');
  await expect(claims).toContainText('"scope": "account"');
  await expect(page.getByTestId('pg-jwt-header')).toContainText('"alg": "RS256"');
  // Used: it cannot be sent again as a fresh code.
  await expect(page.getByTestId('pg-exchange')).toBeDisabled();
});

test('a wrong verifier is refused, and the refusal is in my activity', async ({ page }) => {
  await signIn(page, 'pgt');
  await page.goto('/playground/oauth');
  await hydrated(page);
  // "Start again": new verifier and state, straight to the authorization server.
  await page.getByTestId('pg-restart').click();
  await expect(page.getByRole('heading', { name: 'Allow access?' })).toBeVisible();
  await page.getByRole('button', { name: 'Allow' }).click();
  await hydrated(page);
  await expect(page).toHaveURL(/\/playground\/oauth$/);
  await expect(page.getByTestId('pg-state-check')).toHaveText(/^match/);

  await page.getByTestId('pg-tamper-verifier').click();
  const result = page.getByTestId('pg-tamper-result');
  await expect(result.getByTestId('pg-tamper-status')).toHaveText('400');
  await expect(result.getByTestId('pg-tamper-answer')).toContainText('"error": "invalid_grant"');
  const audit = result.getByTestId('pg-tamper-audit');
  await expect(audit).toContainText('"action": "oauth.token"');
  await expect(audit).toContainText('"outcome": "denied"');
  await expect(audit).toContainText('"reason": "code_verifier_mismatch"');
  await expect(audit).toContainText('"client_id": "oauth-playground"');

  // The code was not used up: the real client still redeems it.
  await page.getByTestId('pg-exchange').click();
  await expect(page.getByTestId('pg-token-status')).toHaveText('200');
});
