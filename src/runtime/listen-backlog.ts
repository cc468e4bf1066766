/**
 * The accept queue each listening socket asks for (the kernel caps it at net.core.somaxconn).
 * Node's default, 511, overflows when a burst of connections arrives: each SYN it drops is
 * retried by its client a second later: 2,000 connections at once took 1.4-1.6 s to accept here
 * (2.2 s in the issue that reported it), and 0.5-0.8 s with this queue (bench/h2-attacks.ts).
 */
export const LISTEN_BACKLOG = 4096;
