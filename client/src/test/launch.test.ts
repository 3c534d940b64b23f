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
  it('initialization options are the settings section in the one spelling, and the client', () => {
    // what `getConfiguration().get('arcgraph')` gives for arcgraph.registry.folders,
    // arcgraph.checks.shape, ...: one nested object
    const section = {
      interpreter: '',
      registry: { folders: ['models'], include: ['**/*.model.yaml'] },
      checks: { shape: false },
      torchTimeout: 20,
      trace: { server: 'off' },
    };
    assert.deepEqual(initializationOptions(section, '/py'), {
      arcgraph: {
        interpreter: '/py',
        registry: { folders: ['models'], include: ['**/*.model.yaml'] },
        checks: { shape: false },
        torchTimeout: 20,
        trace: { server: 'off' },
        client: { showsTrainResult: true, trainProgressOnWorkDoneToken: true },
      },
    });
    // the same keys as the configuration answers carry
    const settings = { ...(initializationOptions(section, '/py').arcgraph as Record<string, unknown>) };
    delete settings.client;
    assert.deepEqual(settings, settingsForServer(section, '/py'));
  });
  it('the server sees the resolved interpreter, never the raw setting', () => {
    const raw = { interpreter: '${workspaceFolder}/evil', registry: { folders: ['m'] }, checks: { shape: true } };
    assert.deepEqual(settingsForServer(raw, '/usr/bin/python3.12'), {
      interpreter: '/usr/bin/python3.12',
      registry: { folders: ['m'] },
      checks: { shape: true },
    });
    // nor the old spelling `python` (the server still reads it) from a hand-written settings.json
    assert.deepEqual(settingsForServer({ interpreter: '~/x', python: 'y', trace: {} }, undefined), { trace: {} });
    assert.deepEqual(settingsForServer({ python: '${workspaceFolder}/evil' }, '/p'), { interpreter: '/p' });
    assert.deepEqual(settingsForServer(null, '/p'), { interpreter: '/p' });
    assert.equal(raw.interpreter, '${workspaceFolder}/evil'); // not mutated
  });
});
