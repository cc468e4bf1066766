/**
 * The textbook grpc-js server the performance work is measured against: proto-loader codec,
 * the rule, nothing else. Not part of the service; `bench/cost.sh --baseline` runs it.
 */
import { loadPackageDefinition, Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { REDIRECT_PROTO_PATH } from '../../src/grpc/reflection.js';
import { OriginAllowList } from '../../src/routing/origin-allow-list.js';
import { RedirectRouter, singlePool } from '../../src/routing/redirect-router.js';

const router = new RedirectRouter({
  pools: singlePool([{ baseUrl: 'http://cdn.example.com', weight: 1 }]),
  originEvery: 10,
  originAllowList: new OriginAllowList(['*.origin-cluster']),
});
const { loadBalancer } = loadPackageDefinition(loadSync(REDIRECT_PROTO_PATH)) as any;
const server = new Server();
server.addService(loadBalancer.loadBalancer.service, {
  Redirect(call: ServerUnaryCall<{ video: string }, object>, callback: sendUnaryData<object>) {
    try {
      callback(null, { redirect: router.redirect(call.request.video) });
    } catch (error) {
      callback({ code: status.INVALID_ARGUMENT, details: (error as Error).message });
    }
  },
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  console.log(JSON.stringify({ port }));
});
