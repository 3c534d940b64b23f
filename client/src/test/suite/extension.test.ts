// Extension-host tests: the real extension, the real bundled server, a scratch copy of
// examples/ as the workspace folder (see tests/e2e/exthost.test.cjs and scripts/e2e).
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

const EXTENSION_ID = 'arc-graph.arcgraph';

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

const MESSAGE = "unknown parameter 'momentun' for torch.optim.SGD; did you mean 'momentum'?";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(250);
  }
}

function codeOf(d: vscode.Diagnostic): string {
  const code = d.code;
  if (code !== undefined && typeof code === 'object') {
    return String(code.value);
  }
  return String(code);
}

function ag211(uri: vscode.Uri): vscode.Diagnostic | undefined {
  return vscode.languages.getDiagnostics(uri).find((d) => codeOf(d) === 'AG211');
}

function hoverText(hovers: vscode.Hover[]): string {
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : c.value))
    .join('\n');
}

suite('Arc-Graph in the extension host', () => {
  let uri: vscode.Uri;
  let doc: vscode.TextDocument;

  suiteSetup(async function () {
    this.timeout(180_000);
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'no workspace folder open');
    const file = path.join(folder.uri.fsPath, 'trainers', 'exthost-broken.trainer.yaml');
    fs.writeFileSync(file, BROKEN);
    uri = vscode.Uri.file(file);
    // the interpreter with torch that scripts/e2e uses (hover docs and parameter names need it)
    const py = process.env.ARCGRAPH_E2E_PYTHON;
    const config = vscode.workspace.getConfiguration('arcgraph');
    if (py && config.get<string>('interpreter') !== py) {
      await config.update('interpreter', py, vscode.ConfigurationTarget.Global);
    }
  });

  test('(1) the extension activates and registers its commands', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not installed`);
    await ext.activate();
    assert.equal(ext.isActive, true);
    if (process.env.ARCGRAPH_E2E_PYTHON) {
      assert.equal(vscode.workspace.getConfiguration('arcgraph').get('interpreter'), process.env.ARCGRAPH_E2E_PYTHON);
    }
    const commands = await vscode.commands.getCommands(true);
    for (const id of [
      'arcgraph.trainModel',
      'arcgraph.cancelTraining',
      'arcgraph.restartServer',
      'arcgraph.showOutput',
      'arcgraph.checkWorkspace',
    ]) {
      assert.ok(commands.includes(id), `command ${id} is not registered`);
    }
  });

  test('(2) a broken trainer spec gets the AG211 diagnostic', async () => {
    doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const d = await waitFor('the AG211 diagnostic', () => ag211(uri));
    assert.equal(d.message, MESSAGE);
    assert.equal(d.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(d.range.start.line, 6);
    assert.equal(doc.getText(d.range), 'momentun');
  });

  test('(3) completion inside optimizer.params offers momentum', async () => {
    const position = new vscode.Position(6, 4); // at the start of `momentun`
    const labels = await waitFor('completion items', async () => {
      const list = await vscode.commands.executeCommand<vscode.CompletionList>(
        'vscode.executeCompletionItemProvider',
        uri,
        position,
      );
      const names = list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
      return names.includes('momentum') ? names : undefined;
    }, 30_000);
    assert.ok(labels.includes('momentum'));
    assert.ok(labels.includes('nesterov'), `no nesterov in ${labels.join(', ')}`);
  });

  test('(4) hover on torch.optim.SGD shows its docs', async () => {
    const position = new vscode.Position(3, 18); // inside `torch.optim.SGD`
    const text = await waitFor('a hover', async () => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, position);
      const value = hoverText(hovers ?? []);
      return value ? value : undefined;
    }, 30_000);
    assert.match(text, /stochastic gradient descent/i);
    assert.match(text, /torch\.optim\.SGD/);
  });

  test("(5) the quick fix \"Rename to 'momentum'\" fixes the spec", async () => {
    const d = await waitFor('the AG211 diagnostic', () => ag211(uri));
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      uri,
      d.range,
    );
    const titles = (actions ?? []).map((a) => a.title);
    const fix = (actions ?? []).find((a) => a.title === "Rename to 'momentum'");
    assert.ok(fix, `no "Rename to 'momentum'" among: ${titles.join(' | ')}`);
    assert.ok(fix.edit, 'the quick fix has no edit');
    assert.equal(await vscode.workspace.applyEdit(fix.edit), true);
    assert.equal(doc.lineAt(6).text, '    momentum: 0.9');
    assert.doesNotMatch(doc.getText(), /momentun/);
    await waitFor('the AG211 diagnostic to go away', () => (ag211(uri) ? undefined : true), 30_000);
    await doc.save();
  });
});
