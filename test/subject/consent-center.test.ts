// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's locator.innerText() (the text a user sees), not the DOM property
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsentCenter } from '../../examples/consent-center/app.js';

// The consent centre example in a real headless Chromium (system package: apt-get install chromium).
const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available)
  console.warn(
    'consent-center.test.ts skipped: no /usr/bin/chromium (apt-get install -y chromium fonts-noto-cjk)',
  );

describe.skipIf(!available)('examples/consent-center in headless Chromium', () => {
  let browser: Browser;
  let server: Server;
  let base: string;
  let center: Awaited<ReturnType<typeof createConsentCenter>>;
  let page: Page;

  beforeAll(async () => {
    center = await createConsentCenter();
    server = center.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const context = await browser.newContext({ locale: 'zh-CN' });
    await context.addCookies([{ name: 'uid', value: 'u42', url: base }]);
    page = await context.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  async function shop(path: string) {
    const response = await fetch(`${base}/api/users/u42/${path}`, {
      headers: { 'pipl-consent': await center.tokenFor('u42') },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  const row = (selector: string) => page.locator(selector);

  it('shows the consents and preferences with their Chinese labels', async () => {
    await page.goto(`${base}/consent-center`);
    expect(await page.locator('h1').innerText()).toContain('个人信息同意中心');
    expect(await row('#consents tr[data-purpose="marketing.personalized"]').innerText()).toMatch(
      /个性化推荐 Personalised recommendations\s+已同意 Given\s+撤回同意 Withdraw consent/,
    );
    expect(await row('#preferences tr[data-kind="marketing"]').innerText()).toMatch(
      /营销信息 Marketing messages\s+已开启 On\s+关闭 Opt out/,
    );
    // A CJK font is there to draw the labels (not tofu boxes).
    const fontLoaded = await page.evaluate(
      // Runs in the browser; this test file is compiled without the DOM types.
      "document.fonts.check('16px \"Noto Sans CJK SC\"', '个人信息')",
    );
    expect(fontLoaded).toBe(true);
  });

  it('opting out in the page makes the shop API stop personalising at once, and opting back in restores it', async () => {
    expect((await shop('recommendations')).body.personalised).toBe(true);
    await Promise.all([
      page.waitForEvent('load'),
      row('#preferences tr[data-kind="personalization"] button').click(),
    ]);
    expect(await row('#preferences tr[data-kind="personalization"] .state').innerText()).toBe('已关闭 Off');
    expect((await shop('recommendations')).body).toMatchObject({ personalised: false });
    await Promise.all([
      page.waitForEvent('load'),
      row('#preferences tr[data-kind="personalization"] button').click(),
    ]);
    expect(await row('#preferences tr[data-kind="personalization"] .state').innerText()).toBe('已开启 On');
    expect((await shop('recommendations')).body.personalised).toBe(true);
  });

  it('withdrawing one consent in the page refuses the shop API for that purpose only', async () => {
    expect((await shop('newsletter')).status).toBe(200);
    await Promise.all([
      page.waitForEvent('load'),
      row('#consents tr[data-purpose="marketing.newsletter"] button').click(),
    ]);
    expect(await row('#consents tr[data-purpose="marketing.newsletter"]').innerText()).toContain(
      '已撤回 Withdrawn',
    );
    const refused = await shop('newsletter');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('consent_withdrawn');
    expect((await shop('recommendations')).body.personalised).toBe(true);
    const types = (center.audit.records as readonly { type: string }[])
      .map((r) => r.type)
      .filter((t) => t !== 'decision' && t !== 'outcome' && t !== 'policy');
    expect(types).toEqual(['preference_change', 'preference_change', 'consent_withdrawal']);
  });

  it('a signed-out visitor gets no page', async () => {
    const response = await fetch(`${base}/consent-center`);
    expect(response.status).toBe(401);
  });
});
