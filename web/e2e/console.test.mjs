// End to end in a real browser (Debian's chromium through playwright-core) against a running
// `keynet serve`: the path a new team takes, from sign-up to predictions. Inputs come from the
// environment (see web/README.md); screenshots go to KEYNET_ARTIFACTS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import PostalMime from 'postal-mime';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const BASE = env('KEYNET_URL').replace(/\/$/, '');
const OUTBOX = env('KEYNET_OUTBOX');
const TRAINER_IMAGE = env('KEYNET_TRAINER_IMAGE');
const DATASET_ZIP = env('KEYNET_DATASET_ZIP');
const BROKEN_DATASET_ZIP = env('KEYNET_BROKEN_DATASET_ZIP');
const INFERENCE_IMAGE = env('KEYNET_INFERENCE_IMAGE');
const ARTIFACTS = env('KEYNET_ARTIFACTS', 'test-artifacts');

const AXE_SOURCE = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const RUN = Date.now().toString(36);
const OWNER = { name: 'Olivia Owner', email: `owner-${RUN}@example.com`, password: 'correct horse battery staple' };
const MEMBER = { name: 'Max Member', email: `member-${RUN}@example.com`, password: 'another long passphrase' };
const ORG = { name: `Acme Vision ${RUN}`, slug: `acme-${RUN}` };

let browser;
const problems = [];

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  // Whatever each browser showed last: the first thing to look at when the test fails.
  if (problems.length > 0) console.error(`page problems:\n${problems.join('\n')}`);
  for (const { label, page } of pages) await page.screenshot({ path: join(ARTIFACTS, `last-${label}.png`), fullPage: true }).catch(() => {});
  await browser?.close();
});

const pages = [];

/** A page whose CSP violations and uncaught errors fail the test. */
async function openPage(label) {
  const context = await browser.newContext({ baseURL: BASE, acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) problems.push(`${label}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${label}: uncaught ${error.stack}`));
  pages.push({ label, page });
  return page;
}

/** A full-page screenshot of a main screen, and axe-core on it: serious or critical violations fail. */
async function checkScreen(page, name) {
  await page.getByRole('heading', { level: 1 }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  // page.evaluate runs in the page's isolated evaluation, which the page's CSP does not govern.
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const result = await globalThis.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
  });
  if (violations.length > 0) await writeFile(join(ARTIFACTS, `${name}.axe.txt`), violations.join('\n'));
  assert.deepEqual(violations, [], `accessibility violations on ${name}`);
}

const seenEmails = new Set();

/** The first link to `path` in a new email to `to`, read from the outbox (.eml parsed properly). */
async function emailLink(to, path, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const file of (await readdir(OUTBOX).catch(() => [])).filter((name) => name.endsWith('.eml')).sort()) {
      if (seenEmails.has(file)) continue;
      const email = await PostalMime.parse(await readFile(join(OUTBOX, file)));
      const recipients = (email.to ?? []).map((address) => address.address?.toLowerCase());
      if (!recipients.includes(to.toLowerCase())) continue;
      const text = `${email.text ?? ''}\n${email.html ?? ''}`;
      const match = text.match(new RegExp(`https?://[^\\s"'<>]*${path.replace('?', '\\?')}\\?token=[A-Za-z0-9_.~%-]+`));
      if (!match) continue;
      seenEmails.add(file);
      // The email's links start with the server's public URL; open them on the URL under test.
      const link = new URL(match[0].replace(/&amp;/g, '&'));
      return `${link.pathname}${link.search}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no email to ${to} with a ${path} link within ${timeoutMs} ms`);
}

async function signUp(page, person) {
  await page.getByLabel('Your name').fill(person.name);
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Create account' }).click();
}

/** From the organization's pages: a training job of the reference trainer on the snapshot, in the experiment. */
async function startTraining(page, { sleepMs, screenshot }) {
  await page.getByRole('link', { name: 'Projects' }).click();
  await page.getByRole('link', { name: 'Pets' }).click();
  await page.getByRole('link', { name: 'Start a training job' }).click();
  await page.getByRole('heading', { level: 1, name: 'Start a training job' }).waitFor();
  await page.getByLabel('Experiment', { exact: true }).selectOption({ label: 'baseline' });
  await page.getByLabel('Model name').fill('softmax-16');
  const settings = page.getByRole('group', { name: 'Training settings' });
  await settings.getByLabel('Epochs').fill('5');
  await settings.getByLabel('Batch size').fill('8');
  await settings.getByLabel('Learning rate').fill('0.5');
  await settings.getByLabel('Image size').fill('16');
  const hyperparameters = page.getByRole('group', { name: 'Trainer hyperparameters' });
  assert.equal(await hyperparameters.getByLabel('seed').inputValue(), '7', 'the default is prefilled');
  await hyperparameters.getByLabel('sleep-ms-per-epoch').fill(String(sleepMs));
  await page.getByRole('region', { name: 'Plan quota' }).waitFor();
  if (screenshot) await checkScreen(page, screenshot);
  await page.getByRole('button', { name: 'Start training' }).click();
  await page.getByRole('heading', { level: 1, name: 'Training job softmax-16' }).waitFor();
}

const pointsOf = (figure) => figure.getAttribute('data-points').then(Number);

test('a team signs up, trains a model live and gets predictions', { timeout: 10 * 60_000 }, async () => {
  const page = await openPage('owner');

  // Sign-in page, then sign up.
  await page.goto('/signin');
  await checkScreen(page, 'sign-in');
  // A refused sign-in says so in words, next to the form, and keeps what was typed.
  await page.getByLabel('Email').fill(OWNER.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.equal(await page.getByLabel('Email').inputValue(), OWNER.email, 'the email stays typed');
  await page.getByRole('link', { name: 'Create an account' }).click();
  await signUp(page, OWNER);
  await page.getByRole('heading', { level: 1, name: 'New organization' }).waitFor();
  await page.getByRole('region', { name: 'Email verification' }).waitFor();

  // Verify the address from the email.
  await page.goto(await emailLink(OWNER.email, '/verify-email'));
  await checkScreen(page, 'verify-email');
  await page.getByRole('button', { name: 'Confirm my email address' }).click();
  await page.getByText(`Your email address ${OWNER.email} is verified.`).waitFor();

  // Create the organization.
  await page.goto('/');
  await page.getByLabel('Name').fill(ORG.name);
  await page.getByLabel('Slug').fill(ORG.slug);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.getByRole('heading', { level: 1, name: `${ORG.name}: projects` }).waitFor();
  assert.equal(await page.getByRole('region', { name: 'Email verification' }).count(), 0, 'no banner once verified');
  assert.equal(await page.getByLabel('Organization', { exact: true }).inputValue(), ORG.slug, 'the switcher shows the new organization');
  await checkScreen(page, 'org-home');
  const nav = page.getByRole('navigation', { name: `${ORG.name} sections` });

  // Invite a second user, who signs up through the invitation in a browser of their own.
  await nav.getByRole('link', { name: 'Members' }).click();
  await page.getByLabel('Email address to invite').fill(MEMBER.email);
  await page.getByLabel('Role', { exact: true }).selectOption('MEMBER');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await page.getByText(`Invitation sent to ${MEMBER.email}.`).waitFor();
  await checkScreen(page, 'members');

  // API tokens: the secret is shown once, with a copy button; the audit log records it.
  await nav.getByRole('link', { name: 'API tokens' }).click();
  await page.getByLabel('Token name').fill('ci');
  await page.getByRole('group', { name: 'Scopes' }).getByLabel('Write').check();
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.getByText(/^knt_\w{20,}$/).waitFor();
  await page.getByRole('button', { name: 'Copy the token' }).waitFor();
  await page.getByRole('cell', { name: 'ci', exact: true }).waitFor();
  await checkScreen(page, 'api-tokens');
  await nav.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('cell', { name: 'api_token.created' }).waitFor();
  await checkScreen(page, 'audit-log');

  const invitee = await openPage('member');
  await invitee.goto(await emailLink(MEMBER.email, '/invitations/accept'));
  await invitee.getByText(`You are invited to join ${ORG.name}`).waitFor();
  await checkScreen(invitee, 'accept-invitation');
  await invitee.getByRole('link', { name: 'Create an account to accept' }).click();
  assert.equal(await invitee.getByLabel('Email').inputValue(), MEMBER.email);
  await signUp(invitee, MEMBER);
  await invitee.getByRole('heading', { level: 1, name: `${ORG.name}: projects` }).waitFor();
  // A member sees no admin actions.
  const memberNav = invitee.getByRole('navigation', { name: `${ORG.name} sections` });
  assert.equal(await memberNav.getByRole('link', { name: 'Audit log' }).count(), 0, 'a member has no audit log');
  await memberNav.getByRole('link', { name: 'Members' }).click();
  await invitee.getByRole('cell', { name: OWNER.email }).waitFor();
  assert.equal(await invitee.getByRole('button', { name: 'Send invitation' }).count(), 0, 'a member cannot invite');
  assert.equal(await invitee.getByRole('button', { name: /^Remove / }).count(), 0, 'a member cannot remove anyone');
  // The session survives a reload (the cookie renews it); signing out ends it for good.
  await invitee.reload();
  await invitee.getByRole('heading', { level: 1, name: 'Members' }).waitFor();
  await invitee.getByRole('button', { name: 'Sign out' }).click();
  await invitee.getByRole('heading', { level: 1, name: 'Sign in to Keynet' }).waitFor();
  await invitee.reload();
  await invitee.getByRole('heading', { level: 1, name: 'Sign in to Keynet' }).waitFor();
  // A forgotten password: the emailed link sets a new one, which then signs in.
  await invitee.getByRole('link', { name: 'Forgot your password?' }).click();
  await invitee.getByLabel('Email').fill(MEMBER.email);
  await invitee.getByRole('button', { name: 'Email me a link' }).click();
  await invitee.getByText('a link to choose a new password is on its way').waitFor();
  await invitee.goto(await emailLink(MEMBER.email, '/reset-password'));
  await invitee.getByLabel('New password (required)', { exact: true }).fill('a brand new passphrase');
  await invitee.getByLabel('New password again').fill('a brand new passphrase');
  await invitee.getByRole('button', { name: 'Set the new password' }).click();
  await invitee.getByRole('link', { name: 'Sign in with the new password' }).click();
  await invitee.getByLabel('Email').fill(MEMBER.email);
  await invitee.getByLabel('Password').fill('a brand new passphrase');
  await invitee.getByRole('button', { name: 'Sign in' }).click();
  await invitee.getByRole('heading', { level: 1, name: `${ORG.name}: projects` }).waitFor();
  await nav.getByRole('link', { name: 'Members' }).click();
  await page.reload();
  await page.getByRole('cell', { name: MEMBER.email, exact: true }).waitFor();

  // A project and its dataset, uploaded through the drop zone's file input.
  await page.getByRole('link', { name: 'Projects' }).click();
  await page.getByLabel('Title').fill('Pets');
  await page.getByLabel('Task type').selectOption('CLASSIFICATION');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('heading', { level: 1, name: 'Pets' }).waitFor();
  await page.getByLabel('Experiment name').fill('baseline');
  await page.getByLabel('Tags').fill('first, small');
  await page.getByRole('button', { name: 'Create experiment' }).click();
  await page.getByRole('link', { name: 'baseline' }).waitFor();
  await page.getByLabel('Dataset name').fill('cats and dogs');
  await page.getByRole('button', { name: 'Create dataset' }).click();
  await page.getByRole('link', { name: 'cats and dogs' }).click();
  await page.getByRole('heading', { level: 1, name: 'Dataset cats and dogs' }).waitFor();
  // A broken archive first: refused, with each problem listed by file.
  await page.getByLabel('Dataset archive (zip)').setInputFiles(BROKEN_DATASET_ZIP);
  await page.getByText('Import refused').waitFor({ timeout: 60_000 });
  await page.getByRole('region', { name: 'Problems the last import found' }).getByRole('cell', { name: 'cat/broken.png' }).waitFor();
  await page.getByLabel('Dataset archive (zip)').setInputFiles(DATASET_ZIP);
  await page.getByText('Import finished').waitFor({ timeout: 60_000 });
  await page.getByRole('heading', { name: 'Statistics' }).waitFor();
  await page.getByRole('img', { name: /Annotations per class: cat \d+, dog \d+/ }).waitFor();
  await page.getByRole('button', { name: 'Create snapshot' }).click();
  await page.getByText('Snapshot v1 created.').waitFor();
  await page.getByRole('link', { name: /Download v1/ }).waitFor();
  await checkScreen(page, 'dataset');

  // Register the reference trainer.
  await page.getByRole('link', { name: 'Trainers' }).click();
  await page.getByLabel('Trainer name').fill('reference');
  await page.getByRole('textbox', { name: 'Image (required)', exact: true }).fill(TRAINER_IMAGE);
  await page.getByRole('group', { name: 'Export formats' }).getByLabel('ONNX').check();
  await page
    .getByLabel('Hyperparameters (JSON)')
    .fill('[{"name":"seed","type":"INT","default":7,"help":"random seed"},{"name":"sleep-ms-per-epoch","type":"INT","default":0}]');
  await page.getByRole('button', { name: 'Register trainer' }).click();
  await page.getByText(/Registered version 1/).waitFor();
  await checkScreen(page, 'trainers');

  // Start a training job from the generated form.
  await startTraining(page, { sleepMs: 700, screenshot: 'start-training' });

  // The job page: the loss chart gains points while the job runs.
  const lossChart = page.locator('figure.chart', { has: page.locator('figcaption', { hasText: /^loss$/ }) });
  await lossChart.waitFor({ timeout: 60_000 });
  const counts = [await pointsOf(lossChart)];
  const status = page.getByRole('heading', { name: 'Status', exact: true }).locator('..').getByRole('status');
  while (!(await status.textContent()).includes('Succeeded')) {
    await page.waitForTimeout(300);
    counts.push(await pointsOf(lossChart));
    assert.ok(!/Failed|Cancelled/.test(await status.textContent()), `the job ended: ${await status.textContent()}`);
  }
  const first = counts[0];
  const last = counts[counts.length - 1];
  assert.ok(first < last, `the loss chart grew live (points seen: ${[...new Set(counts)].join(' → ')})`);
  assert.equal(last, 5, 'one loss point per epoch');
  await checkScreen(page, 'job');

  // Download the best checkpoint.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download the best checkpoint' }).click()]);
  const saved = join(ARTIFACTS, 'checkpoint.bin');
  await download.saveAs(saved);
  assert.ok((await stat(saved)).size > 0, 'the checkpoint has bytes');

  // Inference on an image: predictions with scores.
  await page.getByLabel('Image to predict on').setInputFiles(INFERENCE_IMAGE);
  const predictions = page.getByRole('region', { name: 'Try the model' }).getByRole('table');
  await predictions.waitFor({ timeout: 60_000 });
  const firstRow = predictions.getByRole('row').nth(1);
  assert.match(await firstRow.textContent(), /(cat|dog)\s*\d+(\.\d)? %/);
  await checkScreen(page, 'inference');

  // A second run without the pause, then both in their experiment, with a note in Markdown.
  await startTraining(page, { sleepMs: 0 });
  await status.getByText('Succeeded').waitFor({ timeout: 60_000 });
  await page.getByRole('link', { name: 'Back to the project' }).click();
  await page.getByRole('link', { name: 'baseline' }).click();
  const trainingRuns = page.getByRole('row', { name: /softmax-16 Training Succeeded/ });
  await trainingRuns.nth(1).waitFor();
  await page.getByLabel('New note').fill('**Good** first run, see <b>raw</b>');
  await page.getByRole('button', { name: 'Add note' }).click();
  await page.locator('.markdown strong', { hasText: 'Good' }).waitFor();
  assert.equal(await page.locator('.markdown b').count(), 0, 'raw HTML in a note is not rendered');
  await checkScreen(page, 'experiment');

  // Compare the two runs: one chart per metric with both curves, and the setting that differs first.
  for (const checkbox of await page.getByRole('checkbox', { name: /^Compare softmax-16/ }).all()) await checkbox.check();
  await page.getByRole('button', { name: 'Compare the selected runs' }).click();
  await page.getByRole('heading', { level: 1, name: 'Compare runs' }).waitFor();
  const compared = page.locator('figure.chart', { has: page.locator('figcaption', { hasText: /^loss$/ }) });
  assert.equal(await pointsOf(compared), 10, 'both runs plotted on the loss chart');
  assert.match(await page.getByRole('region', { name: 'Configuration' }).getByRole('row').nth(1).textContent(), /sleep-ms-per-epoch/);
  await checkScreen(page, 'compare-runs');

  // Changing the password ends the sessions; the new one signs in.
  await page.getByRole('link', { name: OWNER.name }).click();
  await checkScreen(page, 'account');
  await page.getByLabel('Current password').fill(OWNER.password);
  await page.getByLabel('New password (required)', { exact: true }).fill('an even longer passphrase');
  await page.getByLabel('New password again').fill('an even longer passphrase');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in to Keynet' }).waitFor();
  await page.getByLabel('Email').fill(OWNER.email);
  await page.getByLabel('Password').fill('an even longer passphrase');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();

  assert.deepEqual(problems, [], 'no CSP violation and no uncaught error');
});
