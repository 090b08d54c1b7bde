/**
 * Who holds the relay's connections. A connection is unidentified until its first request names a
 * session; then it belongs to that run, counts against the run's cap and is destroyed when the run
 * ends. Unidentified connections are capped for the whole process, oldest closed first, so sockets
 * opened and left silent cannot pile up (the headers timeout closes each one anyway).
 */
import type { Socket } from 'node:net';
import { RELAY_LIMITS } from './limits.js';

const unidentified = new Set<Socket>();
const owners = new WeakMap<Socket, Set<Socket>>();

/** A new connection: unidentified until its first request. */
export function acceptConnection(socket: Socket): void {
  if (unidentified.size >= RELAY_LIMITS.unidentifiedConnections) {
    // Sets iterate in insertion order: the first is the one silent longest.
    const oldest = unidentified.values().next().value as Socket;
    unidentified.delete(oldest);
    oldest.destroy();
  }
  unidentified.add(socket);
  socket.once('close', () => {
    unidentified.delete(socket);
    owners.get(socket)?.delete(socket);
  });
}

/**
 * Ties the connection to a run's set of connections on its first request. False when it belongs
 * to another run, or the run already holds its cap: the caller answers and closes it.
 */
export function claimConnection(socket: Socket, runSockets: Set<Socket>): boolean {
  const owner = owners.get(socket);
  if (owner) return owner === runSockets;
  if (runSockets.size >= RELAY_LIMITS.connectionsPerRun) return false;
  unidentified.delete(socket);
  owners.set(socket, runSockets);
  runSockets.add(socket);
  return true;
}

/** Every connection of an ended run, closed at once. */
export function destroyConnections(runSockets: Set<Socket>): void {
  for (const socket of runSockets) socket.destroy();
  runSockets.clear();
}
