// Writes one gRPC-framed Redirect request (5-byte frame header + protobuf) to the file named
// by argv[2], for h2load's -d. The video URL is argv[3].
import { writeFileSync } from 'node:fs';

const video = Buffer.from(process.argv[3] ?? 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8');
if (video.length > 127) throw new Error('keep the benchmark URL under 128 bytes (one-byte length)');
const message = Buffer.concat([Buffer.from([0x0a, video.length]), video]);
const header = Buffer.alloc(5);
header.writeUInt32BE(message.length, 1);
writeFileSync(process.argv[2], Buffer.concat([header, message]));
