import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chooseInterpreter,
  expandPath,
  launchProblem,
  parseProbe,
  shellQuote,
  torchInstallCommand,
  versionProblem,
} from '../logic/interpreter';

const base = { home: '/home/u', workspaceFolder: '/ws' };

describe('chooseInterpreter', () => {
  it('prefers the most specific setting when trusted', () => {
    const c = chooseInterpreter({
      ...base,
      trusted: true,
      setting: { user: '/usr/bin/python3.12', workspace: '${workspaceFolder}/.venv/bin/python', workspaceFolder: '' },
      pythonExtension: '/env/bin/python',
    });
    assert.deepEqual(c, { command: '/ws/.venv/bin/python', source: 'setting' });
  });

  it('uses the Python extension when no setting is set', () => {
    const c = chooseInterpreter({ ...base, trusted: true, setting: { user: '  ' }, pythonExtension: '/env/bin/python' });
    assert.deepEqual(c, { command: '/env/bin/python', source: 'python-extension' });
  });

  it('falls back to python3', () => {
    assert.deepEqual(chooseInterpreter({ ...base, trusted: true, setting: {} }), { command: 'python3', source: 'default' });
  });

  it('ignores workspace settings and the Python extension in Restricted Mode', () => {
    const c = chooseInterpreter({
      ...base,
      trusted: false,
      setting: { workspace: './evil/python' },
      pythonExtension: '/ws/.venv/bin/python',
    });
    assert.equal(c.command, 'python3');
    assert.equal(c.source, 'default');
    assert.match(c.note ?? '', /Restricted Mode/);
  });

  it('keeps the user setting in Restricted Mode', () => {
    const c = chooseInterpreter({ ...base, trusted: false, setting: { user: '~/py/bin/python', workspaceFolder: 'x' } });
    assert.equal(c.command, '/home/u/py/bin/python');
    assert.equal(c.source, 'setting');
    assert.ok(c.note);
  });
});

describe('expandPath', () => {
  it('expands variables and ~', () => {
    assert.equal(expandPath('~/a', undefined, '/h'), '/h/a');
    assert.equal(expandPath('${userHome}/b', undefined, '/h'), '/h/b');
    assert.equal(expandPath('${env:VENV}/bin/python', '/ws', '/h', { VENV: '/v' }), '/v/bin/python');
    assert.equal(expandPath(' ${workspaceFolder}/p ', '/ws', '/h'), '/ws/p');
    assert.equal(expandPath('${workspaceFolder}/p', undefined, '/h'), '${workspaceFolder}/p');
  });
});

describe('parseProbe', () => {
  it('reads the last JSON line', () => {
    const p = parseProbe('noise\n{"version": [3, 11, 4], "executable": "/usr/bin/python3", "torch": "2.13.0+cpu"}\n');
    assert.deepEqual(p, { version: [3, 11, 4], executable: '/usr/bin/python3', torch: '2.13.0+cpu' });
  });
  it('torch null when missing', () => {
    assert.equal(parseProbe('{"version":[3,10,0],"executable":"p","torch":null}').torch, null);
  });
  it('rejects garbage', () => {
    assert.throws(() => parseProbe('Python 2.7'), /no probe result/);
    assert.throws(() => parseProbe('{"executable": "x"}'), /no version/);
  });
});

describe('versionProblem', () => {
  it('accepts 3.10 and later', () => {
    assert.equal(versionProblem('python3', [3, 10, 0]), undefined);
    assert.equal(versionProblem('python3', [3, 13, 1]), undefined);
    assert.equal(versionProblem('python3', [4, 0, 0]), undefined);
  });
  it('says what is wrong for older ones', () => {
    const msg = versionProblem('/usr/bin/python3', [3, 9, 18]);
    assert.match(msg ?? '', /needs Python 3\.10 or newer, but \/usr\/bin\/python3 is Python 3\.9\.18/);
    assert.match(msg ?? '', /arcgraph\.interpreter/);
  });
});

describe('messages', () => {
  it('launchProblem names a missing interpreter', () => {
    assert.match(launchProblem('py', { code: 'ENOENT' }), /could not find the Python interpreter "py"/);
    assert.match(launchProblem('py', { code: 'EACCES' }), /permission denied/);
    assert.match(launchProblem('py', { message: 'boom' }), /boom/);
  });
  it('torchInstallCommand quotes odd paths', () => {
    assert.equal(torchInstallCommand('/usr/bin/python3'), '/usr/bin/python3 -m pip install torch');
    assert.equal(torchInstallCommand('/my envs/py'), "'/my envs/py' -m pip install torch");
    assert.equal(shellQuote("it's"), `'it'"'"'s'`);
  });
});
