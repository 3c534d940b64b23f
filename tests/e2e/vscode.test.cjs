// End-to-end tests of the Arc-Graph extension in a real VS Code (code-server), driven with
// playwright-core. Started by scripts/e2e, which installs the .vsix into a fresh profile, starts
// code-server on a copy of examples/ and sets:
//   E2E_URL        the workbench URL (with ?folder=)
//   E2E_WS         the workspace folder (a scratch copy of examples/)
//   E2E_ARTIFACTS  where screenshots go (tests/e2e/artifacts)
//   E2E_PROFILE    a scratch chromium profile folder
// The tests share one page and run in order.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, it } = require('node:test');
const { chromium } = require('playwright-core');

const URL = process.env.E2E_URL;
const WS = process.env.E2E_WS;
const ART = process.env.E2E_ARTIFACTS || path.join(__dirname, 'artifacts');
const PROFILE = process.env.E2E_PROFILE || fs.mkdtempSync('/tmp/arcgraph-e2e-chromium-');
const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
const USER_SETTINGS = process.env.E2E_USER_SETTINGS; // the profile's User/settings.json
const BARE_PYTHON = process.env.E2E_BARE_PYTHON; // a Python >= 3.10 without torch (or pygls)
// a second code-server with workspace trust on; its workspace's .vscode/settings.json sets
// arcgraph.interpreter to ${workspaceFolder}/evil-python, which leaves EVIL_RAN when it runs
const UNTRUSTED_URL = process.env.E2E_UNTRUSTED_URL;
const UNTRUSTED_WS = process.env.E2E_UNTRUSTED_WS;

const BROKEN = [
  'model_ref: iris-classifier-v1',
  '',
  'optimizer:',
  '  type: torch.optim.SGD',
  '  lr: 0.1',
  '  params:',
  '    momentun: 0.9',
  '',
  'config:',
  '  epochs: 3',
  '  batch_size: 16',
  '',
].join('\n');

// modules and an arc.stack; `input:` on line 25 binds to Block's only input `x` (a hint,
// AG severity 4: the model still builds, so the probe's shapes come)
const MODULES_MODEL = [
  'modules:',
  '  Block:',
  '    inputs: [x]',
  '    graph:',
  '      - name: lin',
  '        type: torch.nn.Linear',
  '        params: { in_features: 4, out_features: 4 }',
  '        inputs: { input: x }',
  '      - name: act',
  '        type: torch.nn.ReLU',
  '        inputs: { input: lin.output }',
  '    outputs:',
  '      output: act.output',
  '',
  'inputs:',
  '  features: { dtype: float32, shape: [null, 4], columns: [a, b, c, d] }',
  '',
  'graph:',
  '  - name: block',
  '    type: module.Block',
  '    inputs: { x: features }',
  '  - name: stack',
  '    type: arc.stack',
  '    params: { module: Block, count: 3 }',
  '    inputs: { input: block.output }',
  '  - name: head',
  '    type: torch.nn.Linear',
  '    params: { in_features: 4, out_features: 1 }',
  '    inputs: { input: stack.output }',
  '',
  'outputs:',
  '  y: head.output',
  '',
  'loss:',
  '  type: torch.nn.functional.mse_loss',
  '  inputs: { input: y, target: t }',
  '',
].join('\n');

// trains long enough to be cancelled
const LONG = [
  'model_ref: breast-cancer-mlp-v1',
  'optimizer:',
  '  type: torch.optim.Adam',
  '  lr: 0.0001',
  'config:',
  '  epochs: 100000',
  '  batch_size: 4',
  '  validation_split: 0.2',
  '  shuffle: true',
  '  device: cpu',
  '  seed: 0',
  '',
].join('\n');

// never opened in an editor: only Check Workspace reports it
const UNOPENED = [
  'model_ref: iris-classifier-v1',
  'optimizer:',
  '  type: torch.optim.Adam',
  '  lr: 0.01',
  'config:',
  '  epochs: 10.5',
  '  batch_size: 16',
  '  validation_split: 0.2',
  '  shuffle: true',
  '',
].join('\n');

/** @type {import('playwright-core').BrowserContext} */
let context;
/** @type {import('playwright-core').Page} */
let page;
let shotNo = 0;

async function shot(name) {
  shotNo += 1;
  const file = path.join(ART, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

const quickInput = () => page.locator('.quick-input-widget');
const quickRows = () => page.locator('.quick-input-widget .quick-input-list .monaco-list-row');

/** The quick pick rows in display order (the list reuses row elements: DOM order differs). */
async function quickRowTexts() {
  const rows = await quickRows().evaluateAll((els) =>
    els.map((e) => ({ i: Number(e.getAttribute('data-index') ?? e.getAttribute('aria-posinset') ?? 0), t: e.innerText })),
  );
  return rows.sort((a, b) => a.i - b.i).map((r) => r.t);
}

async function quickInputText(text) {
  const input = quickInput().locator('input.input, .quick-input-box input').first();
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(text);
}

/** Waits until the quick input no longer shows `text` in its box: closed, or another pick. */
async function quickInputLeft(text) {
  await page.waitForFunction(
    (t) => {
      const w = document.querySelector('.quick-input-widget');
      if (!w || w.style.display === 'none' || w.offsetParent === null) return true;
      const input = w.querySelector('input.input, .quick-input-box input');
      return !input || input.value !== t;
    },
    text,
    { timeout: 15_000 },
  );
}

/** Waits for a quick pick with this title whose rows include one matching `row` (the list
 * is filled after the title shows: reading it earlier reads the previous pick's rows). */
async function quickPick(title, row) {
  await quickInput().locator('.quick-input-title', { hasText: title }).waitFor({ timeout: 30_000 });
  await quickRows().filter({ hasText: row }).first().waitFor({ timeout: 30_000 });
}

/** Waits until the active editor tab has no unsaved changes. */
async function activeTabClean() {
  await page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: 15_000 });
}

/** Waits for the Settings editor's search box to have the keyboard focus. */
async function settingsSearchFocused() {
  await page.locator('.settings-editor').first().waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => !!document.activeElement?.closest('.settings-editor .settings-header'), null, {
    timeout: 30_000,
  });
}

/** Runs a command from the command palette by its title. */
async function command(title) {
  await page.keyboard.press('F1');
  await quickInputText(`>${title}`);
  await quickRows().filter({ hasText: title }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  await quickInputLeft(`>${title}`); // the palette has run it (its rows are not the next pick's)
}

/** Closes the (modal) Settings editor. */
async function closeSettings() {
  const editor = page.locator('.settings-editor').first();
  await editor.locator('.settings-header .monaco-editor, .search-container').first().click().catch(() => undefined);
  for (let i = 0; i < 5 && (await editor.isVisible()); i++) {
    await page.keyboard.press('Escape');
    await editor.waitFor({ state: 'hidden', timeout: 2_000 }).catch(() => undefined);
  }
}

/** Opens a workspace file with Quick Open. */
async function openFile(relPath) {
  const base = path.basename(relPath);
  await page.keyboard.press('Control+P');
  await quickInputText(relPath);
  await quickRows().filter({ hasText: base }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  await quickInputLeft(relPath);
  await page.locator('.tabs-container .tab.active', { hasText: base }).waitFor({ timeout: 15_000 });
  await page.locator('.editor-instance .monaco-editor').first().waitFor();
}

/** Moves the cursor with Go to Line (1-based line and column). */
async function gotoLine(line, column) {
  await page.keyboard.press('Control+G');
  await quickInputText(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await quickInputLeft(`:${line}:${column}`);
  await page
    .locator('.editor-instance .monaco-editor .cursors-layer .cursor')
    .first()
    .waitFor({ state: 'visible', timeout: 10_000 });
}

/** Switches the colour theme with Preferences: Toggle between Light/Dark Themes unless the
 * workbench already shows `selector` (`.monaco-workbench.vs` light, `.vs-dark` dark), and waits
 * until it does. */
async function themeShown(selector) {
  if (!(await page.locator(selector).count())) {
    await command('Preferences: Toggle between Light/Dark Themes');
  }
  await page.locator(selector).first().waitFor({ state: 'attached', timeout: 30_000 });
}

async function activeEditorText() {
  return page.evaluate(() => {
    const lines = [...document.querySelectorAll('.editor-instance .monaco-editor .view-lines .view-line')];
    return lines
      .map((l) => ({ top: parseFloat(l.style.top || '0'), text: l.textContent.replace(/\u00a0/g, ' ') }))
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text)
      .join('\n');
  });
}

describe('Arc-Graph extension in VS Code 1.139 (code-server)', { timeout: 600_000 }, () => {
  before(async () => {
    assert.ok(URL && WS, 'E2E_URL and E2E_WS must be set (run scripts/e2e)');
    fs.mkdirSync(ART, { recursive: true });
    fs.writeFileSync(path.join(WS, 'trainers', 'broken.trainer.yaml'), BROKEN);
    fs.writeFileSync(path.join(WS, 'trainers', 'unopened.trainer.yaml'), UNOPENED);
    fs.writeFileSync(path.join(WS, 'trainers', 'long.trainer.yaml'), LONG);
    context = await chromium.launchPersistentContext(PROFILE, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] || (await context.newPage());
    await page.goto(URL);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: 60_000 });
  });

  after(async () => {
    if (page) {
      await shot('final').catch(() => undefined);
    }
    await context?.close();
  });

  /** The Train flow's last question, the process count: take its default (1 process). */
  /** The process-count prompt's box holds the default, 1 (the first flow's choice is
   * remembered: 1 too), and Enter takes it. */
  async function acceptProcessCount() {
    await quickInput().locator('.quick-input-title', { hasText: 'Training processes' }).waitFor({ timeout: 30_000 });
    const input = quickInput().locator('input.input, .quick-input-box input').first();
    // the value is set with the prompt; until then the box may still hold the target pick's text
    await page
      .waitForFunction(
        () => document.querySelector('.quick-input-widget')?.querySelector('input.input, .quick-input-box input')?.value === '1',
        null,
        { timeout: 10_000 },
      )
      .catch(() => undefined); // the assert below says what the box holds
    assert.equal(await input.inputValue(), '1');
    await page.keyboard.press('Enter');
    await quickInput().waitFor({ state: 'hidden', timeout: 15_000 });
  }

  it('starts the server: the status bar shows the torch version', async () => {
    await openFile('trainers/broken.trainer.yaml');
    const item = page.locator('.statusbar-item', { hasText: /Arc-Graph: (torch|no torch)/ });
    await item.first().waitFor({ timeout: 90_000 });
    const text = (await item.first().innerText()).trim();
    await shot('status-bar');
    assert.match(text, /Arc-Graph: torch \d+\.\d+/);
  });

  it('(a) a broken trainer spec shows its diagnostic in the Problems panel', async () => {
    await page.locator('.editor-instance .squiggly-error').first().waitFor({ timeout: 90_000 });
    await command('View: Focus Problems');
    const row = page.locator('.markers-panel .monaco-list-row', { hasText: 'momentun' });
    await row.first().waitFor({ timeout: 30_000 });
    const text = await row.first().innerText();
    await shot('problems-panel');
    assert.match(text, /unknown parameter 'momentun'/);
    assert.match(text, /AG211/);
  });

  it('(b) completion inside optimizer.params offers the optimizer parameters', async () => {
    await page.locator('.editor-instance .monaco-editor').first().click({ position: { x: 300, y: 10 } });
    await gotoLine(7, 18);
    await page.keyboard.press('End');
    await page.keyboard.press('Enter'); // a new line, indented like `momentun`
    await page.keyboard.press('Control+Space');
    const rows = page.locator('.editor-widget.suggest-widget.visible .monaco-list-row');
    for (const name of ['nesterov', 'weight_decay', 'dampening']) {
      await rows.filter({ hasText: name }).first().waitFor({ timeout: 30_000 }).catch(() => undefined);
    }
    const labels = await rows.allInnerTexts();
    await shot('completion-optimizer-params');
    const joined = labels.join('\n');
    for (const name of ['nesterov', 'weight_decay', 'dampening']) {
      assert.ok(joined.includes(name), `completion lacks ${name}: ${joined}`);
    }
    await page.keyboard.press('Escape');
    await command('File: Revert File');
    await activeTabClean();
  });

  it('(c) hover on the optimizer type shows its docs', async () => {
    await gotoLine(4, 18); // inside `torch.optim.SGD`
    await page.keyboard.press('Control+K');
    await page.keyboard.press('Control+I'); // Show or Focus Hover
    const hover = page.locator('.monaco-hover:not(.hidden)', { hasText: 'torch.optim.SGD' });
    await hover.first().waitFor({ timeout: 30_000 });
    const text = await hover.first().innerText();
    await shot('hover-optimizer');
    assert.match(text, /torch\.optim\.SGD\(/);
    assert.match(text, /momentum/);
    await page.keyboard.press('Escape');
  });

  it('(e) a quick fix applies', async (t) => {
    await gotoLine(7, 7); // on `momentun`
    await page.keyboard.press('Control+.');
    const fix = page.locator('.action-widget .monaco-list-row, .context-view .action-item', { hasText: 'momentum' });
    const none = page.locator('.monaco-editor-overlaymessage', { hasText: /No code actions/i });
    await Promise.race([
      fix.first().waitFor({ timeout: 30_000 }),
      none.first().waitFor({ timeout: 30_000 }),
    ]).catch(() => undefined);
    await shot('quick-fix-menu');
    if (!(await fix.count())) {
      await page.keyboard.press('Escape');
      t.skip('the server offers no code action for AG211 yet (textDocument/codeAction not implemented)');
      return;
    }
    await fix.first().click();
    await page.waitForFunction(
      () => [...document.querySelectorAll('.editor-instance .view-line')].some((l) => /^\s*momentum: 0\.9/.test(l.textContent.replace(/\u00a0/g, ' '))),
      null,
      { timeout: 30_000 },
    );
    await page.keyboard.press('Control+S');
    await activeTabClean();
    await shot('quick-fix-applied');
    const onDisk = fs.readFileSync(path.join(WS, 'trainers', 'broken.trainer.yaml'), 'utf8');
    assert.match(onDisk, /^ {4}momentum: 0\.9$/m);
    assert.doesNotMatch(onDisk, /momentun/);
    // the diagnostic goes away
    await page
      .locator('.markers-panel .monaco-list-row', { hasText: 'momentun' })
      .first()
      .waitFor({ state: 'detached', timeout: 30_000 });
  });

  it("the server's ▶ Train code lens runs the client's Train flow", async () => {
    await openFile('trainers/breast-cancer.trainer.yaml');
    const lens = page.locator('.codelens-decoration a', { hasText: 'Train' });
    await lens.first().waitFor({ timeout: 30_000 });
    await lens.first().click();
    await quickInput().locator('.quick-input-title', { hasText: 'data (CSV or Parquet)' }).waitFor({ timeout: 30_000 });
    await shot('code-lens-train');
    await page.keyboard.press('Escape');
    await quickInput().waitFor({ state: 'hidden', timeout: 15_000 });
  });

  it('(d) Train Model on the breast-cancer example ends with the success message and a run folder', async (t) => {
    await openFile('trainers/breast-cancer.trainer.yaml');
    await command('Arc-Graph: Train Model');
    // 1. the data file: the one sharing the trainer's name comes first
    await quickPick('data (CSV or Parquet)', /\.(csv|parquet)/);
    const dataRows = await quickRowTexts();
    await shot('train-pick-data');
    assert.match(dataRows[0] ?? '', /breast_cancer\.csv/);
    await page.keyboard.press('Enter');
    // 2. the target column: the model's loss target first
    await quickPick('target column', 'loss target');
    const targetRows = await quickRowTexts();
    await shot('train-pick-target');
    assert.match(targetRows[0] ?? '', /^diagnosis/);
    assert.match(targetRows[0] ?? '', /loss target/);
    await page.keyboard.press('Enter');
    // 3. the process count (torch.distributed): the default, 1
    await acceptProcessCount();
    // 4. progress, then the outcome
    const toast = page.locator('.notification-toast', { hasText: /Arc-Graph: trained |Arc-Graph: training of |Arc-Graph: the language server is not running/ });
    // the progress notification: ours (progress on our workDoneToken) or the server's own token
    const progress = page.locator('.notification-toast', { hasText: /Training breast-cancer/ });
    const done = toast.first().waitFor({ timeout: 300_000 });
    await Promise.race([progress.first().waitFor({ timeout: 20_000 }).then(() => shot('train-progress')), done]).catch(
      () => undefined,
    );
    await done;
    const text = await toast.first().innerText();
    await shot('train-result');
    if (/failed: .*(arcgraph\.train|not found|Unhandled method|MethodNotFound|unknown command)/i.test(text)) {
      const message = await toast.first().locator('.notification-list-item-message').innerText().catch(() => text);
      t.skip(`the server has no arcgraph.train command yet: ${message.replace(/\s+/g, ' ').trim()}`);
      return;
    }
    assert.match(text, /Arc-Graph: trained breast-cancer-mlp-v1 \((completed|stopped early)\): best val_loss \d/);
    assert.match(text, /Open run folder/);
    assert.match(text, /Show curves/);
    const m = /Run folder: (\S+)/.exec(text);
    assert.ok(m, `no run folder in: ${text}`);
    const runDir = path.resolve(WS, m[1]);
    assert.ok(fs.existsSync(path.join(runDir, 'summary.json')), `no summary.json in ${runDir}`);
    assert.ok(fs.existsSync(path.join(runDir, 'loss.png')), `no loss.png in ${runDir}`);
    // Show curves opens the loss plot
    await toast.first().locator('.monaco-button', { hasText: 'Show curves' }).click();
    await page.locator('.tabs-container .tab.active', { hasText: 'loss.png' }).waitFor({ timeout: 30_000 });
    await page.locator('.editor-instance img').first().waitFor({ timeout: 30_000 }).catch(() => undefined);
    await shot('train-curves');
  });

  it('a training run is cancellable from its progress notification', async () => {
    await openFile('trainers/long.trainer.yaml');
    await command('Arc-Graph: Train Model');
    await quickPick('data (CSV or Parquet)', 'breast_cancer.csv');
    await quickInputText('breast_cancer.csv');
    // the filter has applied: the first row shown is the file
    await page.waitForFunction(
      () => {
        const rows = [...document.querySelectorAll('.quick-input-widget .quick-input-list .monaco-list-row')];
        rows.sort((a, b) => Number(a.getAttribute('data-index')) - Number(b.getAttribute('data-index')));
        return rows.length > 0 && rows[0].innerText.startsWith('breast_cancer.csv');
      },
      null,
      { timeout: 15_000 },
    );
    await page.keyboard.press('Enter');
    await quickPick('target column', 'loss target');
    await page.keyboard.press('Enter'); // diagnosis, the loss target
    await acceptProcessCount();
    const progress = page.locator('.notification-toast', { hasText: /Arc-Graph: Training breast-cancer-mlp-v1/ });
    await progress.first().waitFor({ timeout: 60_000 });
    await page.locator('.statusbar-item', { hasText: /Training breast-cancer-mlp-v1/ }).first().waitFor({ timeout: 10_000 });
    // a few epochs: the progress names epoch 2 or later
    await page
      .locator('.notification-toast', { hasText: /epoch ([2-9]|\d{2,})\/100000/ })
      .first()
      .waitFor({ timeout: 120_000 });
    await shot('train-long-progress');
    await progress.first().hover();
    await progress.first().locator('.monaco-button', { hasText: 'Cancel' }).first().click();
    const outcome = page.locator('.notification-toast', { hasText: /Arc-Graph: train(ed|ing of) breast-cancer-mlp-v1/ });
    await outcome.first().waitFor({ timeout: 60_000 });
    const text = await outcome.first().innerText();
    await shot('train-cancelled');
    assert.doesNotMatch(text, /completed/);
    assert.match(text, /cancel|interrupt|stopped/i);
  });

  it('Check Workspace fills the Problems panel from `arcgraph check` (files not open in an editor)', async () => {
    await command('Arc-Graph: Check Workspace');
    const row = page.locator('.markers-panel .monaco-list-row', { hasText: 'arcgraph check' });
    await row.first().waitFor({ timeout: 120_000 });
    await page
      .locator('.markers-panel .monaco-list-row', { hasText: "'config.epochs' must be a positive integer; got 10.5" })
      .first()
      .waitFor({ timeout: 60_000 });
    const texts = (await page.locator('.markers-panel .monaco-list-row').allInnerTexts()).join('\n');
    await shot('check-workspace');
    assert.match(texts, /unopened\.trainer\.yaml/);
    assert.match(texts, /'config\.epochs' must be a positive integer; got 10\.5\s+arcgraph check\s+AG112/);
    // broken.trainer.yaml is open: its problems come from the server only, never twice
    assert.doesNotMatch(texts, /validation_split[^\n]*\s+arcgraph check/);
  });

  it('a settings change reaches the server without a reload (arcgraph.registry.folders)', async () => {
    await command('Preferences: Open User Settings');
    await settingsSearchFocused();
    await page.keyboard.type('arcgraph.registry.folders');
    const item = page.locator('.settings-editor .setting-item-contents', { hasText: 'Folders' }).first();
    await item.waitFor({ timeout: 30_000 });
    await item.locator('.setting-list-addButton, .monaco-button', { hasText: 'Add Item' }).first().click();
    const edit = item.locator('.setting-list-edit-row input, .setting-list-valueInput input').first();
    await edit.waitFor({ timeout: 10_000 });
    await edit.fill('no-models-here');
    await page.keyboard.press('Enter');
    await item.locator('.setting-list-row', { hasText: 'no-models-here' }).first().waitFor({ timeout: 15_000 });
    await shot('settings-registry-folders');
    await closeSettings();
    // the registry no longer has iris-classifier-v1: the open broken trainer says so
    const row = page.locator('.markers-panel .monaco-list-row', { hasText: /AG201/ });
    await row.first().waitFor({ timeout: 60_000 });
    await shot('registry-folders-applied');
  });

  it('Show Model Graph draws the model (light and dark); a click reveals the node, the cursor highlights it', async () => {
    await command('View: Close All Editors');
    await openFile('models/iris-classifier-v1.model.yaml');
    await page.locator('.statusbar-item', { hasText: /Arc-Graph: torch/ }).first().waitFor({ timeout: 90_000 });
    await themeShown('.monaco-workbench.vs');
    await command('Arc-Graph: Show Model Graph');
    const view = page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
    const box = (name) => view.locator(`.node[data-name="${name}"]`);
    await view.locator('body[data-rendered]').waitFor({ state: 'attached', timeout: 60_000 });
    for (const name of ['input_norm', 'hidden', 'activation', 'classifier', 'probabilities']) {
      await box(name).waitFor({ timeout: 30_000 });
    }
    // once the shape probe has answered (arcgraph/modelGraphChanged), torch's shape and params
    await box('classifier').filter({ hasText: '51 params' }).waitFor({ timeout: 90_000 });
    assert.match(await box('classifier').innerText(), /classifier\s+torch\.nn\.Linear\s+\[B, 3\]\s+51 params/);
    await view.locator('svg.edges text', { hasText: '[B, 16]' }).first().waitFor({ state: 'attached', timeout: 15_000 });
    assert.equal(await view.locator('.node.input').count(), 1); // features
    assert.equal(await view.locator('.node.output').count(), 2); // logits, probabilities
    assert.equal(await view.locator('svg.edges path:not(marker path)').count(), 7);
    await view.locator('body.vscode-light').waitFor({ state: 'attached', timeout: 15_000 });
    await shot('graph-view-light');
    await themeShown('.monaco-workbench.vs-dark');
    await view.locator('body.vscode-dark').waitFor({ state: 'attached', timeout: 15_000 });
    await shot('graph-view-dark');
    // a click on `classifier` (line 22: `  - name: classifier`) puts the cursor on its dash
    await box('classifier').click();
    const selection = page.locator('.statusbar-item', { hasText: /Ln 22, Col 3\b/ });
    await selection.first().waitFor({ timeout: 15_000 });
    // the editor's cursor on `hidden`'s params (line 17) highlights that node
    await gotoLine(17, 7);
    await view.locator('.node.selected[data-name="hidden"]').waitFor({ timeout: 15_000 });
    assert.equal(await view.locator('.node.selected').count(), 1);
    await shot('graph-view-cursor');
    await themeShown('.monaco-workbench.vs');
    await command('View: Close All Editors');
  });

  it('the graph view: modules and arc.stack collapse and expand (inner nodes with their shapes), a diagnostic outlines its node, CSP with a nonce, no network', async () => {
    fs.writeFileSync(path.join(WS, 'models', 'graph-modules-v1.model.yaml'), MODULES_MODEL);
    const offsite = [];
    const onRequest = (req) => {
      let frameUrl = '';
      try {
        frameUrl = req.frame().url();
      } catch {
        return; // a service worker's own request: no frame
      }
      const url = req.url();
      if (!frameUrl.includes('webview') || /^(data|blob):/.test(url)) return;
      const target = new globalThis.URL(url);
      if (target.origin === new globalThis.URL(URL).origin) return;
      // VS Code's resource origin serves local files (the service worker answers, no network):
      // allowed only for the extension's own media/ folder
      const local = target.hostname.endsWith('.vscode-resource.vscode-cdn.net');
      if (!(local && /\/extensions\/arc-graph\.arcgraph-[^/]+\/media\/[^/]+$/.test(target.pathname))) {
        offsite.push(url);
      }
    };
    page.on('request', onRequest);
    try {
      await command('View: Close All Editors');
      await openFile('models/graph-modules-v1.model.yaml');
      await command('Arc-Graph: Show Model Graph');
      const view = page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
      const byId = (id) => view.locator(`.node[data-id="${id}"]`);
      await view.locator('body[data-rendered]').waitFor({ state: 'attached', timeout: 60_000 });
      // groups start collapsed: one box each, with a toggle naming the module
      await byId('node:stack').filter({ hasText: '60 params' }).waitFor({ timeout: 90_000 });
      assert.equal(await byId('node:stack').locator('button.toggle').innerText(), '▸ Block × 3');
      assert.equal(await byId('node:block').locator('button.toggle').innerText(), '▸ Block');
      assert.equal(await view.locator('.node[data-id^="node:stack/"]').count(), 0);
      // the hint on `input:` of stack's inputs (line 25: Block's only input is `x`) outlines it
      await view.locator('.node.severity-4[data-id="node:stack"]').waitFor({ timeout: 30_000 });
      assert.equal(await view.locator('.node[class*="severity-"]').count(), 1);
      // expanded: the module's nodes inside, with their own use's shape and params
      await byId('node:stack').locator('button.toggle').click();
      await byId('node:stack/lin').waitFor({ timeout: 15_000 });
      assert.match(await byId('node:stack/lin').innerText(), /lin\s+torch\.nn\.Linear\s+\[B, 4\]\s+20 params/);
      assert.match(await byId('node:stack/act').innerText(), /act\s+torch\.nn\.ReLU\s+\[B, 4\]\s+0 params/);
      assert.equal(await byId('node:stack').locator('button.toggle').innerText(), '▾ Block × 3');
      assert.equal(await view.locator('.node[data-id^="node:block/"]').count(), 0);
      await shot('graph-view-modules');
      // a click on an inner node reveals its line in the module (line 5: `      - name: lin`)
      await byId('node:stack/lin').click();
      await page.locator('.statusbar-item', { hasText: /Ln 5, Col 7\b/ }).first().waitFor({ timeout: 15_000 });
      await byId('node:stack').locator('button.toggle').first().click();
      await view.locator('.node[data-id="node:stack/lin"]').waitFor({ state: 'detached', timeout: 15_000 });
      // CSP: nothing but the nonce'd script runs, nothing loads from outside the extension
      const csp = await view.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
      assert.match(csp, /default-src 'none'/);
      const nonce = /script-src 'nonce-([A-Za-z0-9_-]+)'/.exec(csp)?.[1];
      assert.ok(nonce && nonce.length >= 16, csp);
      // our one script carries the nonce; the only other is VS Code's own prepended
      // acquireVsCodeApi definition (inline, no nonce: its webview host adds it to every page)
      const scripts = await view.locator('script').evaluateAll((els) =>
        els.map((e) => ({ src: e.getAttribute('src') ?? '', nonce: e.nonce, vscodeApi: !e.src && e.textContent.includes('acquireVsCodeApi') })));
      const ours = scripts.filter((s) => !s.vscodeApi);
      assert.equal(ours.length, 1, JSON.stringify(scripts));
      assert.match(ours[0].src, /media\/graphView\.js(\?|$)/);
      assert.equal(ours[0].nonce, nonce);
      assert.ok(scripts.length <= 2, JSON.stringify(scripts));
      // the only origin named is VS Code's webview resource origin (webview.cspSource), for
      // media/ files; no connect-src (default-src 'none' forbids fetch and websockets)
      assert.doesNotMatch(csp.replaceAll('https://*.vscode-cdn.net', ''), /https?:|connect-src|unsafe/);
      assert.deepEqual(offsite, []);
    } finally {
      page.off('request', onRequest);
    }
    await command('View: Close All Editors');
  });

  it('an interpreter without torch (and without pygls): said once, structure checks keep working', async (t) => {
    if (!BARE_PYTHON) {
      t.skip('no Python without torch (E2E_BARE_PYTHON) on this machine');
      return;
    }
    // set arcgraph.interpreter in the Settings editor: a new interpreter restarts the server, no reload
    await command('Preferences: Open User Settings');
    await settingsSearchFocused();
    await page.keyboard.type('arcgraph.interpreter');
    const input = page.locator('.settings-editor .setting-item-contents', { hasText: 'Interpreter' }).locator('input.input').first();
    await input.waitFor({ timeout: 30_000 });
    await input.fill(BARE_PYTHON);
    await page.keyboard.press('Tab');
    await shot('settings-interpreter');
    const toast = page.locator('.notification-toast', { hasText: 'torch is not installed' });
    await toast.first().waitFor({ timeout: 60_000 });
    const text = await toast.first().innerText();
    assert.match(text, /-m pip install torch/);
    await page.locator('.statusbar-item', { hasText: 'Arc-Graph: no torch' }).first().waitFor({ timeout: 60_000 });
    await closeSettings();
    await openFile('trainers/unopened.trainer.yaml');
    const live = page.locator('.markers-panel .monaco-list-row', { hasText: /got 10\.5\s*arcgraph\s*\(?AG112/ });
    await live.first().waitFor({ timeout: 60_000 });
    await shot('no-torch');
  });
});

describe('Restricted Mode (an untrusted workspace)', { timeout: 300_000, skip: !UNTRUSTED_URL && 'E2E_UNTRUSTED_URL not set' }, () => {
  before(async () => {
    context = await chromium.launchPersistentContext(`${PROFILE}-untrusted`, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] || (await context.newPage());
    await page.goto(UNTRUSTED_URL);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: 60_000 });
  });

  after(async () => {
    await context?.close();
  });

  it('runs the server with the user interpreter, never the one workspace settings name', async () => {
    await openFile('trainers/sgd-momentum.trainer.yaml');
    await page.locator('.statusbar-item', { hasText: /Arc-Graph: torch \d/ }).first().waitFor({ timeout: 90_000 });
    await shot('restricted-mode');
    assert.ok(!fs.existsSync(path.join(UNTRUSTED_WS, 'EVIL_RAN')), 'the workspace interpreter was started');
  });

  it('training is disabled', async () => {
    // no ▶ Train code lens from the server, no editor title button, no palette entry
    assert.equal(await page.locator('.codelens-decoration', { hasText: 'Train' }).count(), 0, 'a Train code lens in Restricted Mode');
    assert.equal(await page.locator('.editor-actions [aria-label*="Train Model"]').count(), 0, 'a Train button in Restricted Mode');
    await page.keyboard.press('F1');
    await quickInputText('>Arc-Graph:');
    await quickRows().filter({ hasText: 'Arc-Graph: Restart Server' }).first().waitFor({ timeout: 15_000 });
    await shot('restricted-train-command');
    const rows = await quickRowTexts();
    assert.ok(!rows.some((r) => r.startsWith('Arc-Graph: Train Model')), `Train Model offered: ${rows.join(' | ')}`);
    await page.keyboard.press('Escape');
    assert.ok(!fs.existsSync(path.join(UNTRUSTED_WS, 'runs')), 'a run folder appeared in Restricted Mode');
    assert.ok(!fs.existsSync(path.join(UNTRUSTED_WS, 'EVIL_RAN')), 'the workspace interpreter was started');
  });
});
