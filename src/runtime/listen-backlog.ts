/**
 * The accept queue each listening socket asks for (the kernel caps it at net.core.somaxconn).
 * Node's default, 511, overflows when a burst of connections arrives: each SYN it drops is
 * retried by its client a second later, which made 2,000 connections take 2.2 s to accept.
 */
export const LISTEN_BACKLOG = 4096;
