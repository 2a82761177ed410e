/** Worker thread for verify: classifies packets of lines (see packet.ts). */
import { parentPort } from 'node:worker_threads';
import { classifyPacket, Packet, packetTransfer, resultTransfer } from './packet';

// The packet goes back with its result (transferred, not copied): the caller needs its bytes
// for excerpts of sequence-level problems.
parentPort?.on('message', (p: Packet) => {
  const r = classifyPacket(p);
  parentPort!.postMessage({ p, r }, [...resultTransfer(r), ...packetTransfer(p)]);
});
