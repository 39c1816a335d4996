// TLS everywhere: the coordinator serves TLS (agents verify its certificate with --tls-ca),
// and Redis is reached over rediss:// as an ACL user with a password (the default user is
// off). A run trains on an agent through both; the password never shows in GetServerInfo.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import type { GetServerInfoResponse } from '../../gen/ts/pretext/v1/service.js';
import { startCluster, TERMINAL } from '../helpers/cluster.js';
import { tinyPretext } from '../helpers/daemon.js';

test('agents work over TLS to the coordinator and rediss:// with a user and password', async (t) => {
  const cl = await startCluster({
    tls: true,
    agents: 1,
    token: 'client-tls-token',
    agentToken: 'agent-tls-token',
  });
  t.after(() => cl.stop());
  const info = await cl.c.call<GetServerInfoResponse>('getServerInfo', {});
  assert.match(info.queue, /^rediss:\/\/pretext:\*\*\*@127\.0\.0\.1:\d+/);
  assert.doesNotMatch(info.queue, /queue-pass/);
  assert.equal(info.agents.length, 1);
  const { run } = await cl.c.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 2, steps: 2 }));
  const done = await cl.c.waitState(run.id, TERMINAL, 120_000);
  assert.equal(done.state, RunState.RUN_STATE_SUCCEEDED, done.error);
  assert.equal(done.attemptHistory[0]?.agentId, 'a1');
  assert.equal(done.artifacts.find((a) => a.name === 'last')?.epoch, 2);
});
