/** Worker thread for verify: classifies packets of lines (see packet.ts). */
import { parentPort } from 'node:worker_threads';
import { classifyPacket, Packet, packetTransfer, resultTransfer } from './packet';

// The packet's buffer goes back with its result (transferred, not copied): it is one of the
// caller's fixed set of read buffers.
parentPort?.on('message', (p: Packet) => {
  const r = classifyPacket(p);
  parentPort!.postMessage({ p, r }, [...resultTransfer(r), ...packetTransfer(p)]);
});
