import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { docker, freePort, waitHttp } from './docker.ts';

/**
 * Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 with storage in a temp dir and no
 * auth (its packaged config turns htpasswd on). The engine pushes to a loopback registry over
 * plain HTTP without any daemon setting. A free port unless `port` is given: where systemd runs
 * (GitHub's runners), installing the package starts its own service, with auth, on :5000.
 */
export async function startRegistry(port?: number): Promise<{ address: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-registry-'));
  const address = `127.0.0.1:${port ?? (await freePort())}`;
  writeFileSync(
    path.join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }`,
      `http: { addr: ${address} }`,
      '',
    ].join('\n'),
  );
  const taken = await fetch(`http://${address}/v2/`).then(
    () => true,
    () => false,
  );
  if (taken) throw new Error(`${address} already answers: stop whatever runs there first`);
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitHttp(`http://${address}/v2/`, 15_000);
  } catch (err) {
    await stop();
    throw new Error(`docker-registry did not start: ${log}`, { cause: err });
  }
  return { address, stop };
}

/** A single-node swarm on loopback, in the benchmarking range; refuses to touch an existing one. */
export async function initSwarm(): Promise<string> {
  const state = await docker('info', '-f', '{{.Swarm.LocalNodeState}}');
  if (state !== 'inactive') throw new Error(`this engine is already in a swarm (${state}): not touching it`);
  // --listen-addr: the manager's API (2377) would otherwise listen on every address of the host.
  await docker(
    'swarm',
    'init',
    '--advertise-addr',
    '127.0.0.1',
    '--listen-addr',
    '127.0.0.1:2377',
    '--default-addr-pool',
    '198.19.0.0/16',
  );
  return docker('info', '-f', '{{.Swarm.NodeID}}');
}

/** Removes a stack and waits until its containers and networks are gone. */
export async function removeStack(stack: string, timeoutMs = 90_000): Promise<void> {
  await docker('stack', 'rm', stack).catch(() => '');
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const left = await docker('ps', '-aq', '--filter', `label=com.docker.stack.namespace=${stack}`).catch(() => '');
    const nets = await docker('network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${stack}`).catch(
      () => '',
    );
    if (!left && !nets) return;
    await sleep(1000);
  }
}

/** Running containers of one stack service (`docker ps` on this node). */
export async function serviceContainers(service: string): Promise<string[]> {
  const out = await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`);
  return out.split('\n').filter(Boolean);
}

/** Waits until a service has exactly `n` tasks running (healthy, where it has a healthcheck). */
export async function converged(service: string, n: number, timeoutMs = 180_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    last = await docker(
      'service',
      'ps',
      service,
      '--filter',
      'desired-state=running',
      '--format',
      '{{.CurrentState}}|{{.Error}}',
    );
    const running = last.split('\n').filter((l) => l.startsWith('Running')).length;
    if (running === n && last.split('\n').filter(Boolean).length === n) return;
    await sleep(1000);
  }
  throw new Error(`${service}: not ${n} running tasks after ${timeoutMs} ms:\n${last}`);
}
