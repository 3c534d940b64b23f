// Arc-Graph: Show Model Graph: a webview beside the editor that draws the model's DAG from the
// server's `arcgraph/modelGraph` answer, redrawn as the user types and as diagnostics change;
// a click on a node reveals its line, the editor's cursor highlights its node.
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { asModelGraph, parseFromView, type ToView } from './logic/graphView';
import type { ServerManager } from './server';

const REQUEST = 'arcgraph/modelGraph';
const CHANGED = 'arcgraph/modelGraphChanged'; // the shape probe of a document answered
const DEBOUNCE_MS = 300;

export class GraphViewCommand implements vscode.Disposable {
  private readonly views = new Map<string, GraphPanel>();
  private listening: unknown; // the language client the CHANGED handler is registered on
  private listener: vscode.Disposable | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly server: ServerManager,
  ) {}

  async show(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Arc-Graph: open a model spec (.model.yaml) to show its graph.');
      return;
    }
    const uri = editor.document.uri.toString();
    this.listen();
    const open = this.views.get(uri);
    if (open) {
      open.panel.reveal(vscode.ViewColumn.Beside, true);
      return;
    }
    const view = new GraphPanel(this.context, this.server, editor);
    this.views.set(uri, view);
    view.panel.onDidDispose(() => {
      this.views.delete(uri);
      view.dispose();
    });
  }

  /** Redraws a document's view when the server says its probe answered (one handler per
   * client: a restarted server is a new client). */
  private listen(): void {
    const client = this.server.client;
    if (!client || client === this.listening) {
      return;
    }
    this.listener?.dispose();
    this.listening = client;
    this.listener = client.onNotification(CHANGED, (params: unknown) => {
      const uri = (params as { textDocument?: { uri?: unknown } } | undefined)?.textDocument?.uri;
      if (typeof uri === 'string') {
        this.views.get(uri)?.schedule();
      }
    });
  }

  dispose(): void {
    this.listener?.dispose();
    for (const view of this.views.values()) {
      view.panel.dispose();
    }
  }
}

class GraphPanel {
  readonly panel: vscode.WebviewPanel;
  private readonly document: vscode.TextDocument;
  private readonly subscriptions: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private asked = 0; // the newest request: older answers arriving later are dropped

  constructor(
    context: vscode.ExtensionContext,
    private readonly server: ServerManager,
    editor: vscode.TextEditor,
  ) {
    this.document = editor.document;
    const media = vscode.Uri.joinPath(context.extensionUri, 'media');
    const name = this.document.uri.path.split('/').pop() ?? 'model';
    this.panel = vscode.window.createWebviewPanel(
      'arcgraph.modelGraph',
      `Graph: ${name}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [media], retainContextWhenHidden: true },
    );
    this.panel.webview.html = html(this.panel.webview, media);
    const uri = this.document.uri.toString();
    this.subscriptions.push(
      this.panel.webview.onDidReceiveMessage((raw: unknown) => {
        const message = parseFromView(raw);
        if (message?.type === 'ready') {
          void this.refresh();
          this.highlightFrom(vscode.window.visibleTextEditors.find((e) => e.document === this.document));
        } else if (message?.type === 'reveal') {
          void this.reveal(message.line);
        }
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === this.document && e.contentChanges.length) {
          this.schedule();
        }
      }),
      vscode.languages.onDidChangeDiagnostics((e) => {
        if (e.uris.some((u) => u.toString() === uri)) {
          this.schedule();
        }
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor.document === this.document) {
          this.highlightFrom(e.textEditor);
        }
      }),
    );
  }

  private post(message: ToView): void {
    void this.panel.webview.postMessage(message);
  }

  schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), DEBOUNCE_MS);
  }

  private async refresh(): Promise<void> {
    const client = this.server.client;
    const mine = ++this.asked;
    if (!client) {
      this.post({ type: 'error', message: 'The Arc-Graph server is not running.' });
      return;
    }
    try {
      const answer: unknown = await client.sendRequest(REQUEST, { textDocument: { uri: this.document.uri.toString() } });
      if (mine !== this.asked) {
        return;
      }
      const graph = asModelGraph(answer);
      if (graph) {
        this.post({ type: 'graph', graph });
      } else {
        this.post({ type: 'error', message: 'This is not a model spec: no graph to show.' });
      }
    } catch (error) {
      this.post({ type: 'error', message: `The graph could not be read: ${(error as Error).message}` });
    }
  }

  private highlightFrom(editor: vscode.TextEditor | undefined): void {
    if (editor) {
      this.post({ type: 'highlight', line: editor.selection.active.line });
    }
  }

  private async reveal(line: number): Promise<void> {
    const target = Math.min(line, this.document.lineCount - 1);
    const shown = vscode.window.visibleTextEditors.find((e) => e.document === this.document);
    const editor = await vscode.window.showTextDocument(this.document, {
      viewColumn: shown?.viewColumn ?? vscode.ViewColumn.One,
      preserveFocus: false,
    });
    const text = this.document.lineAt(target);
    const at = new vscode.Position(target, text.firstNonWhitespaceCharacterIndex);
    editor.selection = new vscode.Selection(at, at);
    editor.revealRange(text.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const s of this.subscriptions) {
      s.dispose();
    }
  }
}

/** The page: CSP with a nonce, the script and style from media/ only, no network. */
function html(webview: vscode.Webview, media: vscode.Uri): string {
  const nonce = crypto.randomBytes(18).toString('base64url');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(media, 'graphView.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(media, 'graphView.css'));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `img-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>Model Graph</title>
</head>
<body>
<div id="status" role="status"></div>
<div id="canvas"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
