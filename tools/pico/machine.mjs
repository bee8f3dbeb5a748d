// An RP2040 running a firmware image: rp2040js's core and peripherals, our execution loop
// (busy code at emulator speed, idle time paced to the wall clock), paced UARTs, the REPL
// bridge, and a probe register block the firmware can read.

import { ConsoleLogger, LogLevel, RP2040 } from 'rp2040js';
import { PacedUART } from './uart.mjs';
import { ReplBridge } from './usb.mjs';

const CYCLE_NANOS = 8; // 125 MHz
const SLICE_MS = 4;    // run this long before letting Node service its sockets
const SPIN_NANOS = 2e6; // idle gaps shorter than this are waited out by spinning

// Probe: 0x40068000 is unused on the RP2040. Words: magic, busy us, idle us, RX stalls
// of UART0 and UART1, RX bytes dropped while off (UART0, UART1), interrupts raised by
// UART0 and UART1.
export const PROBE_BASE = 0x40068;
const PROBE_MAGIC = 0x45424f50; // "PROBE" in little-endian ASCII, truncated: 'POBE'

class Probe {
  constructor(machine) {
    this.machine = machine;
    this.rawWriteValue = 0;
  }
  readUint32(offset) {
    const m = this.machine;
    switch (offset) {
      case 0x0: return PROBE_MAGIC;
      case 0x4: return Math.floor((m.busyCycles * CYCLE_NANOS) / 1000) >>> 0;
      case 0x8: return Math.floor(m.idleNanos / 1000) >>> 0;
      case 0xc: return m.uarts[0].stalls >>> 0;
      case 0x10: return m.uarts[1].stalls >>> 0;
      case 0x14: return m.uarts[0].dropped >>> 0;
      case 0x18: return m.uarts[1].dropped >>> 0;
      case 0x1c: return m.uarts[0].irqs >>> 0;
      case 0x20: return m.uarts[1].irqs >>> 0;
    }
    return 0;
  }
  writeUint32() {}
  writeUint32Atomic() {}
}

export class Machine {
  constructor({ firmware, bootrom, fsImage = null, fsOffset = 0xa0000, verbose = false }) {
    const mcu = new RP2040();
    mcu.logger = new ConsoleLogger(verbose ? LogLevel.Warn : LogLevel.Error, false);
    mcu.loadBootrom(new Uint32Array(bootrom.buffer, bootrom.byteOffset, bootrom.length >> 2));
    mcu.flash.set(firmware, 0);
    if (fsImage) mcu.flash.set(fsImage, fsOffset);
    mcu.peripherals[PROBE_BASE] = new Probe(this);
    this.mcu = mcu;
    this.clock = mcu.clock;
    this.uarts = mcu.uart.map((u) => new PacedUART(u, mcu.clock));
    this.repl = new ReplBridge(mcu.usbCtrl);
    this.busyCycles = 0;
    this.idleNanos = 0;
    this.timer = null;
    this.immediate = false;
    this.runner = () => this.run();
    this.stopped = false;
    this.idleWall = null; // wall ms when the current idle stretch began
    this.idleEmu = 0;     // emulated ns then
    mcu.core.PC = 0x10000000;
  }

  /** For a stuck board: where the core is, and each UART's registers and queues. */
  state() {
    const core = this.mcu.core;
    return {
      pc: core.PC.toString(16), waiting: core.waiting, busyCycles: this.busyCycles, idleNanos: this.idleNanos,
      emuNanos: this.clock.nanos, nextAlarm: this.clock.nextAlarm ? this.clock.nanosToNextAlarm : null,
      uarts: this.uarts.map((u) => ({
        ris: u.uart.interruptStatus, imsc: u.uart.interruptMask, ifls: u.ifls, cr: u.uart.ctrlRegister,
        rx: u.rxFifo.itemCount, tx: u.txFifo.itemCount, queued: u.queued, shifting: u.shifting,
        stalls: u.stalls, received: u.received, sent: u.sent, rxPending: u.rxPending, txPending: u.txPending,
      })),
    };
  }

  start() {
    this.wake();
  }

  stop() {
    this.stopped = true;
    this.cancel();
  }

  /** Something from the host may have woken the core or moved an alarm: run now. */
  wake() {
    if (!this.stopped && !(this.timer && this.immediate)) this.schedule(0);
  }

  schedule(ms) {
    this.cancel();
    this.immediate = ms === 0;
    this.timer = this.immediate ? setImmediate(this.runner) : setTimeout(this.runner, ms);
  }

  cancel() {
    if (this.timer) (this.immediate ? clearImmediate : clearTimeout)(this.timer);
    this.timer = null;
  }

  run() {
    this.timer = null;
    if (this.stopped) return;
    const { mcu, clock } = this;
    const core = mcu.core;
    const end = performance.now() + SLICE_MS;
    for (;;) {
      if (!core.waiting) {
        this.idleWall = null;
        for (let i = 0; i < 2000 && !core.waiting; i++) {
          const cycles = core.executeInstruction();
          this.busyCycles += cycles;
          clock.tick(cycles * CYCLE_NANOS);
        }
        if (performance.now() >= end) break;
        continue;
      }
      // Idle (WFI/WFE): emulated time advances no faster than the wall clock from the
      // start of this idle stretch, so a timeout gives the host the time it would really
      // have; busy stretches (slower than a real Pico) are never banked into idle.
      const now = performance.now();
      if (this.idleWall === null) {
        this.idleWall = now;
        this.idleEmu = clock.nanos;
      }
      const allowed = (now - this.idleWall) * 1e6 - (clock.nanos - this.idleEmu);
      const toAlarm = clock.nextAlarm ? clock.nanosToNextAlarm : Infinity;
      if (toAlarm <= allowed) {
        clock.tick(Math.max(toAlarm, 0));
        this.idleNanos += Math.max(toAlarm, 0);
        continue; // the alarm may have woken the core
      }
      if (allowed > 0) {
        clock.tick(allowed);
        this.idleNanos += allowed;
      }
      const gap = toAlarm - Math.max(allowed, 0);
      if (gap < SPIN_NANOS && now < end) continue; // short: wait it out here
      this.schedule(Math.max(1, Math.min(10, gap / 1e6 - 1)));
      return;
    }
    this.schedule(0);
  }
}
