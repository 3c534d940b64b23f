// Extension-host tests: runs the mocha suites of client/src/test/suite (compiled to
// client/out/test/suite) inside VS Code's extension host, like @vscode/test-electron, but in
// VS Code's own server (lib/vscode/out/server-main.js of the cached code-server package) and a
// headless chromium, since nothing can be downloaded here. See shared/notes/vscode-e2e.md.
// Started by scripts/e2e (under setsid: the server and its helpers stay in that process group,
// which scripts/e2e kills at the end), with:
//   E2E_SERVER_MAIN  path of server-main.js
//   E2E_EXT_DEV      the extension folder under test (client/, built: dist/, bundled/, out/)
//   E2E_WS           the workspace folder (a scratch copy of examples/)
//   E2E_SCRATCH      a scratch folder for the server's and chromium's data
//   ARCGRAPH_E2E_PYTHON  the interpreter the extension must use (the suites check it)
// The extension host's exit code (codeAutomationExit) is the result; its log lines
// (codeAutomationLog: mocha's spec report among them) are printed here.
'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { after, describe, it } = require('node:test');
const { chromium } = require('playwright-core');

const SERVER_MAIN = process.env.E2E_SERVER_MAIN;
const EXT_DEV = process.env.E2E_EXT_DEV;
const WS = process.env.E2E_WS;
const SCRATCH = process.env.E2E_SCRATCH;
const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
const PY = process.env.ARCGRAPH_E2E_PYTHON;
const TIMEOUT_MS = 420_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitHttp(url, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

let server;
let context;

describe('mocha suites in the extension host (VS Code server 1.139)', { timeout: TIMEOUT_MS + 60_000 }, () => {
  after(async () => {
    await context?.close().catch(() => undefined);
    if (server && server.exitCode === null) server.kill('SIGTERM');
  });

  it('client/out/test/suite passes (exit code 0)', async () => {
    assert.ok(SERVER_MAIN && EXT_DEV && WS && SCRATCH, 'E2E_SERVER_MAIN, E2E_EXT_DEV, E2E_WS, E2E_SCRATCH must be set (run scripts/e2e)');
    assert.ok(fs.existsSync(path.join(EXT_DEV, 'out/test/suite/index.js')), 'client/out/test/suite/index.js missing (npm test builds it)');
    const userData = path.join(SCRATCH, 'exthost-data');
    const serverData = path.join(SCRATCH, 'exthost-server');
    const extensions = path.join(SCRATCH, 'exthost-extensions');
    const settings = {
      'telemetry.telemetryLevel': 'off',
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'update.mode': 'none',
      ...(PY ? { 'arcgraph.interpreter': PY } : {}),
    };
    for (const dir of [path.join(userData, 'Machine'), path.join(serverData, 'data', 'Machine'), extensions]) {
      fs.mkdirSync(dir, { recursive: true });
    }
    for (const dir of [path.join(userData, 'Machine'), path.join(serverData, 'data', 'Machine')]) {
      fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
    }

    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const log = fs.openSync(path.join(SCRATCH, 'exthost-server.log'), 'a');
    server = spawn(
      process.execPath,
      [
        SERVER_MAIN,
        '--host', '127.0.0.1',
        '--port', String(port),
        '--without-connection-token',
        '--accept-server-license-terms',
        '--enable-smoke-test-driver',
        '--disable-workspace-trust',
        '--disable-telemetry',
        '--user-data-dir', userData,
        '--server-data-dir', serverData,
        '--extensions-dir', extensions,
      ],
      { stdio: ['ignore', log, log], env: process.env },
    );
    const started = Date.now();
    await waitHttp(`http://${host}/version`, 60_000);

    const payload = [
      ['extensionDevelopmentPath', `vscode-remote://${host}${EXT_DEV}`],
      ['extensionTestsPath', `vscode-remote://${host}${EXT_DEV}/out/test/suite/index.js`],
      ['skipWelcome', 'true'],
    ];
    const url = `http://${host}/?folder=${encodeURIComponent(WS)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;

    context = await chromium.launchPersistentContext(path.join(SCRATCH, 'exthost-chromium'), {
      executablePath: CHROMIUM,
      headless: true,
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
    const page = context.pages()[0] || (await context.newPage());
    let resolveExit;
    const exited = new Promise((resolve) => {
      resolveExit = resolve;
    });
    await page.exposeFunction('codeAutomationExit', (code) => {
      resolveExit(code);
    });
    await page.exposeFunction('codeAutomationLog', (level, message) => {
      // the workbench's log; the extension host's console output arrives here too, mocha's
      // report tagged [mocha] by client/src/test/suite/index.ts
      const text = String(message);
      if (process.env.E2E_EXTHOST_VERBOSE) {
        process.stdout.write(`[workbench ${level}] ${text}\n`);
      } else if (text.startsWith('[mocha] ')) {
        process.stdout.write(`${text.slice(8)}\n`);
      } else if (level === 'error' && !/ENOTFOUND|ServiceWorker/.test(text)) {
        process.stdout.write(`[workbench error] ${text}\n`);
      }
    });
    await page.goto(url);
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), TIMEOUT_MS);
    });
    const code = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    console.log(`[exthost] exit code ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(code, 0, `the extension-host tests failed (exit code ${code}); see the log above`);
  });
});
