import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Where the browser tests leave their screenshots (gitignored). */
export const ARTIFACTS = path.resolve(__dirname, '..', '..', '..', 'test-artifacts', 'webchat');

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Debian's Chromium, headless, driven by playwright-core. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await fs.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** A page of a context that records uncaught errors and the dialogs scripts open. */
export async function newPage(context: BrowserContext): Promise<Page & { errors: string[] }> {
  const page = (await context.newPage()) as Page & { errors: string[] };
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(err.message));
  page.on('dialog', (dialog) => {
    page.errors.push(`dialog opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return page;
}

/** The widget's parts (Playwright's CSS locators pierce its open shadow root). */
export const W = {
  launcher: '#acuerdo-webchat .launcher',
  badge: '#acuerdo-webchat .badge',
  panel: '#acuerdo-webchat .panel',
  log: '#acuerdo-webchat [role="log"]',
  input: '#acuerdo-webchat textarea',
  send: '#acuerdo-webchat button.send',
  chips: '#acuerdo-webchat .chips',
  status: '#acuerdo-webchat .status',
  typing: '#acuerdo-webchat .typing',
};

/** Opens the panel, types a message and presses Enter. */
export async function say(page: Page, text: string): Promise<void> {
  if (!(await page.locator(W.panel).isVisible())) await page.locator(W.launcher).click();
  await page.locator(W.input).fill(text);
  await page.locator(W.input).press('Enter');
}

/** Waits until a bubble from `from` containing `text` is shown; returns its text. */
export async function bubble(page: Page, from: 'bot' | 'visitor' | 'agent', text: string | RegExp, timeout = 15_000): Promise<string> {
  const loc = page.locator(`#acuerdo-webchat .msg.${from}:not(.pending)`, { hasText: text }).last();
  await loc.waitFor({ state: 'visible', timeout });
  return (await loc.locator('.bubble').textContent()) ?? '';
}

/** Every bubble's text in the log, in order, without the screen-reader prefixes. */
export function transcript(page: Page): Promise<string[]> {
  return page.locator(`${W.log} .msg:not(.intro)`).evaluateAll((rows) =>
    rows.map((row) => {
      const from = row.classList.contains('visitor') ? 'visitor' : row.classList.contains('agent') ? 'agent' : 'bot';
      const bubbleEl = row.querySelector('.bubble');
      const sr = bubbleEl?.querySelector('.sr')?.textContent ?? '';
      return `${from}: ${(bubbleEl?.textContent ?? '').slice(sr.length)}`;
    }),
  );
}
