import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkArgs, initializationOptions, SERVER_ARGS, serverEnv, settingsForServer } from '../logic/launch';

describe('launch', () => {
  it('runs the server as a module', () => {
    assert.deepEqual(SERVER_ARGS, ['-m', 'arcgraph', 'lsp']);
  });
  it('check arguments', () => {
    assert.deepEqual(checkArgs('/ws'), ['-m', 'arcgraph', 'check', '--format', 'json', '/ws']);
  });
  it('puts the bundled libs first on PYTHONPATH, once', () => {
    const env = serverEnv({ PATH: '/bin', PYTHONPATH: '/b:/x:/b', UNSET: undefined }, '/b');
    assert.equal(env.PYTHONPATH, '/b:/x');
    assert.equal(env.PATH, '/bin');
    assert.equal(env.PYTHONUNBUFFERED, '1');
    assert.ok(!('UNSET' in env));
    assert.equal(serverEnv({}, '/libs').PYTHONPATH, '/libs');
    assert.equal(serverEnv({ PYTHONPATH: '/y' }, undefined).PYTHONPATH, '/y');
  });
  it('initialization options carry the interpreter and the settings', () => {
    const opts = initializationOptions({ registryFolders: ['models'], registryInclude: ['**/*.model.yaml'], shapeCheck: false }, '/py');
    assert.deepEqual(opts, {
      arcgraph: {
        python: '/py',
        interpreter: '/py',
        shapeCheck: false,
        registry: { folders: ['models'], include: ['**/*.model.yaml'] },
        checks: { shape: false },
        client: { showsTrainResult: true, trainProgressOnWorkDoneToken: true },
      },
    });
  });
  it('the server sees the resolved interpreter, never the raw setting', () => {
    const raw = { interpreter: '${workspaceFolder}/evil', registry: { folders: ['m'] }, checks: { shape: true } };
    assert.deepEqual(settingsForServer(raw, '/usr/bin/python3.12'), {
      interpreter: '/usr/bin/python3.12',
      python: '/usr/bin/python3.12',
      registry: { folders: ['m'] },
      checks: { shape: true },
    });
    assert.deepEqual(settingsForServer({ interpreter: '~/x', python: 'y', trace: {} }, undefined), { trace: {} });
    assert.deepEqual(settingsForServer(null, '/p'), { interpreter: '/p', python: '/p' });
    assert.equal(raw.interpreter, '${workspaceFolder}/evil'); // not mutated
  });
});
