import { test, expect, Page } from '@playwright/test';
import { hydrated } from './helpers';

// The admin area, the patterns, the OAuth playground and the workshop page are
// lazily loaded routes (frontend/src/app.rs, `lazy_pages`): the bundle is built
// with `cargo leptos build --split`, and their code is in wasm chunks that the
// browser fetches only when such a route is shown.

/** The wasm files the page fetches, and the CSP violations and uncaught
 * errors it reports. */
function watch(page: Page) {
  const wasm: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.endsWith('.wasm')) wasm.push(path);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy/i.test(msg.text())) errors.push(msg.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { wasm, errors };
}

test('a main page loads only the main wasm; a lazy route fetches its chunks when the router shows it', async ({ page }) => {
  const seen = watch(page);
  await page.goto('/login');
  await hydrated(page);
  expect(seen.wasm).toEqual(['/pkg/frontend.wasm']);

  // Client-side navigation: the document stays the same.
  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
  await page.getByTestId('nav-patterns').click();
  await expect(page.getByTestId('patterns-index')).toBeVisible();
  await page.getByTestId('patterns-index').getByRole('link', { name: 'Defense in Depth' }).click();
  await expect(page).toHaveURL(/\/patterns\/defense-in-depth$/);
  await expect(page.getByTestId('pattern-defense-in-depth')).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  expect(seen.wasm.filter((p) => p !== '/pkg/frontend.wasm').length).toBeGreaterThan(0);
  expect(seen.errors).toEqual([]);
});

test('a lazy route loaded directly is complete from the server, preloads its chunks and hydrates', async ({ page }) => {
  const seen = watch(page);
  const response = await page.goto('/patterns/defense-in-depth');
  expect(response!.status()).toBe(200);
  const html = await response!.text();
  expect(html).toContain('data-testid="pattern-defense-in-depth"');
  // The main wasm's preload link, and the server's for the route's chunks.
  expect(await page.locator('link[rel="preload"][href$=".wasm"]').count()).toBeGreaterThan(1);
  await hydrated(page);
  expect(seen.wasm.length).toBeGreaterThan(1);

  // Hydrated: its links route on the client, to another lazy route.
  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
  await page.locator('nav.pattern-pages').getByRole('link', { name: 'Zero Trust' }).click();
  await expect(page.getByTestId('pattern-zero-trust')).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  expect(seen.errors).toEqual([]);
});
