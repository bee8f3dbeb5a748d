#!/usr/bin/env node
// A Raspberry Pi Pico on the host: boots a firmware image in rp2040js and puts its REPL
// (USB CDC) and UART0/UART1 on TCP ports.
//
//   node runner.mjs --firmware FW.bin --bootrom ROM.bin [--fs IMAGE [--fs-offset 0xa0000]]
//                   [--repl PORT] [--uart0 SPEC] [--uart1 SPEC] [--verbose]
//
// SPEC is `listen:PORT` (0: any free port; one client at a time, a new one replaces the
// old) or `connect:HOST:PORT` (dial out, e.g. to the atmodem emulator's --serve line).
// Ports are bound on 127.0.0.1. Once everything listens it prints one JSON line on stdout,
// {"repl": PORT, "uart0": PORT, "uart1": PORT}, and runs until stdin closes or SIGTERM.

import fs from 'node:fs';
import net from 'node:net';
import { Machine } from './machine.mjs';

function parseArgs(argv) {
  const a = { repl: 'listen:0', uart0: 'listen:0', uart1: 'listen:0', fsOffset: 0xa0000, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--firmware') a.firmware = v();
    else if (k === '--bootrom') a.bootrom = v();
    else if (k === '--fs') a.fs = v();
    else if (k === '--fs-offset') a.fsOffset = Number(v());
    else if (k === '--repl') a.repl = 'listen:' + v();
    else if (k === '--uart0') a.uart0 = v();
    else if (k === '--uart1') a.uart1 = v();
    else if (k === '--verbose') a.verbose = true;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.firmware || !a.bootrom) throw new Error('--firmware and --bootrom are required');
  return a;
}

/** A byte stream on TCP: `listen:PORT` or `connect:HOST:PORT`. Resolves to the bound port. */
function bridge(spec, name, onData, setSink) {
  const [kind, ...rest] = spec.split(':');
  const attach = (sock) => {
    sock.setNoDelay(true);
    sock.on('data', (buf) => onData(new Uint8Array(buf.buffer, buf.byteOffset, buf.length)));
    sock.on('error', () => {});
    sock.on('close', () => setSink(null, sock));
    setSink(sock);
  };
  if (kind === 'connect') {
    const port = Number(rest.pop());
    const host = rest.join(':') || '127.0.0.1';
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port }, () => resolve(port));
      sock.once('error', (e) => reject(new Error(`${name}: cannot connect to ${host}:${port}: ${e.message}`)));
      attach(sock);
    });
  }
  if (kind !== 'listen') throw new Error(`${name}: expected listen:PORT or connect:HOST:PORT, got ${spec}`);
  const server = net.createServer(attach);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(rest[0] || 0), '127.0.0.1', () => resolve(server.address().port));
  });
}

/** Holds the one connected peer of a stream. Output with nobody connected is dropped, or
 *  kept up to `keep` bytes for the next peer (the REPL: what main.py printed at boot). */
class Sink {
  constructor(keep = 0) {
    this.sock = null;
    this.keep = keep;
    this.kept = [];
    this.keptBytes = 0;
  }
  set(sock, closing) {
    if (closing) {
      if (this.sock === closing) this.sock = null;
      return;
    }
    if (this.sock) this.sock.destroy();
    this.sock = sock;
    for (const b of this.kept) sock.write(b);
    this.kept = [];
    this.keptBytes = 0;
  }
  write(bytes) {
    if (this.sock) this.sock.write(bytes);
    else if (this.keptBytes + bytes.length <= this.keep) {
      this.kept.push(bytes);
      this.keptBytes += bytes.length;
    }
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const machine = new Machine({
    firmware: fs.readFileSync(args.firmware),
    bootrom: fs.readFileSync(args.bootrom),
    fsImage: args.fs ? fs.readFileSync(args.fs) : null,
    fsOffset: args.fsOffset,
    verbose: args.verbose,
  });
  const ports = {};
  const repl = new Sink(1 << 20);
  machine.repl.onData = (buf) => repl.write(Buffer.from(buf));
  ports.repl = await bridge(args.repl, 'repl', (bytes) => {
    machine.repl.write(bytes);
    machine.wake();
  }, (s, c) => repl.set(s, c));
  for (const n of [0, 1]) {
    const uart = machine.uarts[n];
    const sink = new Sink();
    // TX characters leave one frame apart in emulated time; batch them per slice
    let pending = [];
    uart.onByte = (b) => {
      if (!pending.length) setImmediate(() => { sink.write(Buffer.from(pending)); pending = []; });
      pending.push(b);
    };
    ports['uart' + n] = await bridge(args['uart' + n], 'uart' + n, (bytes) => {
      uart.feed(bytes);
      machine.wake();
    }, (s, c) => sink.set(s, c));
  }
  process.stdout.write(JSON.stringify(ports) + '\n');
  const quit = () => {
    machine.stop();
    process.exit(0);
  };
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
  process.stdin.on('end', quit);
  process.on('SIGUSR2', () => process.stderr.write(JSON.stringify(machine.state()) + '\n'));
  process.stdin.resume();
  machine.start();
}

main().catch((e) => {
  process.stderr.write(`pico runner: ${e.message}\n`);
  process.exit(2);
});
