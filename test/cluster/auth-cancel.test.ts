// Agent tokens and client tokens are separate: each service refuses the other's token, and
// agents holding the agent token train runs. GetServerInfo lists the agents. A cancel reaches
// a run that trains on an agent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { AgentServiceClient } from '../../gen/ts/pretext/v1/agent.js';
import { type Run, RunState } from '../../gen/ts/pretext/v1/run.js';
import type { GetServerInfoResponse } from '../../gen/ts/pretext/v1/service.js';
import { CLUSTER_REVISION, connect, startCluster, TERMINAL } from '../helpers/cluster.js';
import { tinyPretext } from '../helpers/daemon.js';

const CLIENT = 'client-token-0123456789';
const AGENT = 'agent-token-9876543210';

function register(address: string, token?: string): Promise<unknown> {
  const client = new AgentServiceClient(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) =>
    client.registerAgent(
      {
        agentId: 'intruder',
        host: 'x',
        slots: 1,
        backends: ['cpu'],
        busy: 0,
        version: '0',
        codeRevision: CLUSTER_REVISION,
      },
      md,
      (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res);
      },
    ),
  );
}

test('agent and client tokens are refused by each other’s service; cancel reaches a remote run', async (t) => {
  const cl = await startCluster({ token: CLIENT, agentToken: AGENT, agents: 2 });
  t.after(() => cl.stop());
  const addr = cl.coordinator.address;

  await assert.rejects(register(addr, CLIENT), {
    code: grpc.status.UNAUTHENTICATED,
    details: /client token cannot call the agent service/,
  });
  await assert.rejects(register(addr), { code: grpc.status.UNAUTHENTICATED });
  await assert.rejects(register(addr, 'wrong'), {
    code: grpc.status.UNAUTHENTICATED,
    details: /agent token is wrong/,
  });
  const asAgent = connect(addr, AGENT);
  t.after(() => asAgent.close());
  await assert.rejects(asAgent.call('getServerInfo', {}), {
    code: grpc.status.UNAUTHENTICATED,
    details: /agent token cannot call the client service/,
  });
  // The agent token is good for the agent service.
  await register(addr, AGENT);

  const info = await cl.c.call<GetServerInfoResponse>('getServerInfo', {});
  assert.match(info.queue, /^unix:/);
  const ours = info.agents.filter((a) => a.id === 'a1' || a.id === 'a2');
  assert.equal(ours.length, 2);
  for (const a of ours) {
    assert.ok(a.online);
    assert.equal(a.slots, 1);
    assert.deepEqual(a.backends, ['cpu']);
    assert.ok(a.host);
    assert.ok(Number(a.lastSeenUnixMs) > Date.now() - 10_000);
  }

  // Agents with the agent token train; a cancel reaches the one training a long run.
  const { run: quick } = await cl.c.call<{ run: Run }>('startPretext', tinyPretext({ epochs: 1, steps: 2 }));
  const { run: long } = await cl.c.call<{ run: Run }>(
    'startPretext',
    tinyPretext({ epochs: 200, steps: 50, seed: 2 }),
  );
  const q = await cl.c.waitState(quick.id, TERMINAL, 120_000);
  assert.equal(q.state, RunState.RUN_STATE_SUCCEEDED, q.error);
  await cl.c.stream({ runId: long.id }, (ev) => ev.some((e) => e.payload?.$case === 'step'));
  const running = await cl.c.waitState(long.id, [RunState.RUN_STATE_RUNNING]);
  assert.ok(running.attemptHistory.at(-1)?.agentId);
  await cl.c.call('cancelRun', { runId: long.id });
  const ended = await cl.c.waitState(long.id, TERMINAL, 30_000);
  assert.equal(ended.state, RunState.RUN_STATE_CANCELLED, ended.error);
  assert.equal(ended.attemptHistory.at(-1)?.outcome, 'cancelled');
});
