// Ports published on a pod that already runs: what the Docker API does with
// the -p of a container that joins another's pod (docker refuses -p with
// --net=container:X; nsbox publishes it on the pod). The pod's keeper binds
// each port and runs a forwarder of its own for them; the pod's record lists
// them after the ports it was made with, so `nsbox port`, inspect and a later
// `pod start` know them. They stay as long as the pod does.
import { NsboxError } from '../errors.js';
import { keeperListenerCount } from '../keeper/containers.js';
import { keeperSlots, MAX_PUBLISH } from '../keeper/slots.js';
import { okWords, requestKeeper } from '../keeper/client.js';
import { encodePlan } from '../native/plan.js';
import { spawnFailure } from '../native/spawn.js';
import { bindError } from '../net/listeners.js';
import { formatPort, parsePortSpecs, type PortMapping } from '../net/ports.js';
import { forwarderPlan } from '../net/start-forwarder.js';
import { notRunning } from '../pod/info.js';
import { podStatus, type PodRecord } from '../pod/record.js';
import { readPodRecord, writePodRecord } from '../pod/store.js';
import { withStateLock } from '../state/lock.js';
import { statePaths } from '../state/paths.js';

/** Why a pod cannot take ports while it runs, or null. */
function refusal(rec: PodRecord): NsboxError | null {
  const why =
    rec.supervisor.mode !== 'detached'
      ? 'it is run by the process that made it (a library pod), not by a keeper'
      : rec.network === 'pasta'
        ? "with --network pasta its ports are pasta's, set when the pod starts"
        : null;
  return why ? new NsboxError('PORT_FAILED', `cannot publish ports on the running pod ${rec.name}: ${why}`, 'publish them when the pod is made (`nsbox pod create -p`)') : null;
}

/**
 * Publishes `specs` (-p syntax) on the running detached pod `podId`; returns
 * the mappings as bound (a free host port where none or 0 was asked). Each
 * batch of MAX_PUBLISH ports is all or nothing: a failed one publishes none
 * of its ports (those of earlier batches stay).
 */
export async function publishOnRunningPod(root: string, podId: string, specs: string[]): Promise<PortMapping[]> {
  const wanted = specs.flatMap((s) => parsePortSpecs(s));
  if (!wanted.length) return [];
  const published: PortMapping[] = [];
  for (let i = 0; i < wanted.length; i += MAX_PUBLISH) published.push(...(await publishBatch(root, podId, wanted.slice(i, i + MAX_PUBLISH))));
  return published;
}

async function publishBatch(root: string, podId: string, wanted: PortMapping[]): Promise<PortMapping[]> {
  return withStateLock(root, async () => {
    const rec = readPodRecord(root, podId);
    if (!rec) throw new NsboxError('NO_SUCH_POD', `no such pod: ${podId}`, 'list pods with `nsbox pod ls`');
    const refused = refusal(rec);
    if (refused) throw refused;
    if (podStatus(rec) !== 'running') throw notRunning(rec);
    const slots = keeperSlots(keeperListenerCount(rec));
    const plan = forwarderPlan(slots.pausePidfd, wanted.map((mapping, i) => ({ fd: slots.listen(i), mapping })));
    const specs = wanted.map((m) => `${m.protocol}/${m.hostIp}/${m.hostPort}`);
    const answer = await requestKeeper(statePaths.podSocket(root, rec.id), `publish ${wanted.length} ${specs.join(' ')}`, { data: encodePlan(plan) });
    const bind = /^err bind (\S+) (\S+)$/.exec(answer);
    if (bind) throw bindError(wanted[specs.indexOf(bind[1]!)] ?? wanted[0]!, { code: bind[2] });
    const spawn = /^spawnerr (-?\d+) (-?\d+) (-?\d+)$/.exec(answer);
    if (spawn) {
      const [section, step, err] = spawn.slice(1).map(Number) as [number, number, number];
      throw spawnFailure(plan, { rc: -err, pid: 0, section, step, err, detail: 0, middleStatus: 0, middlePid: 0, middleExecd: false });
    }
    if (answer === 'err too many publishes on this pod')
      throw new NsboxError('PORT_FAILED', `cannot publish ${wanted.map(formatPort).join(', ')} on ${rec.name}: its keeper serves at most 32 publishes of a running pod`, 'publish several ports in one request, or make the pod again with all of them (`nsbox pod create -p`)');
    const ports = okWords(answer, `to publish ${wanted.map(formatPort).join(', ')}`).map(Number);
    const bound = wanted.map((m, i) => ({ ...m, hostPort: ports[i]! }));
    writePodRecord(root, { ...rec, keeperListeners: keeperListenerCount(rec), ports: [...(rec.ports ?? []), ...bound] });
    return bound;
  });
}
