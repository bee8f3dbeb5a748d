// A PL011 UART as the firmware sees it, on top of rp2040js's RPUART (which has no TX FIFO,
// raises the TX interrupt on every check, and drops bytes fed into a full RX FIFO).
//
// Both directions move one character per frame (start + data + parity + stop bits) of
// emulated time at the baud rate the firmware programmed: what a wire does. The RX and
// RX-timeout interrupts follow the FIFO level select register, the TX interrupt fires when
// the TX FIFO drains to its trigger level. Host bytes wait in a queue; when one is due and
// the RX FIFO is full, a real wire would overrun: we hold it instead (as RTS would) and
// count it in `stalls`, so a test sees the driver's speed, never a loss the runner invented
// (PICO_DEBUG_STALLS=1 in the environment prints where the core was for the first ones).

import { FIFO } from 'rp2040js';

const DR = 0x0, FR = 0x18, LCR_H = 0x2c, CR = 0x30, IFLS = 0x34, IMSC = 0x38;
const RIS = 0x3c, MIS = 0x40, ICR = 0x44, DMACR = 0x48;
const FR_BUSY = 1 << 3, FR_RXFE = 1 << 4, FR_TXFF = 1 << 5, FR_RXFF = 1 << 6, FR_TXFE = 1 << 7;
const INT_RX = 1 << 4, INT_TX = 1 << 5, INT_RT = 1 << 6;
const CR_UARTEN = 1 << 0, CR_TXE = 1 << 8, CR_RXE = 1 << 9;
const LCR_PEN = 1 << 1, LCR_STP2 = 1 << 3, LCR_FEN = 1 << 4;
const TRIGGER = [4, 8, 16, 24, 28]; // 1/8 .. 7/8 of 32 entries

export class PacedUART {
  /** uart: an rp2040js RPUART; clock: the simulation clock. */
  constructor(uart, clock) {
    this.uart = uart;
    this.clock = clock;
    this.rxFifo = new FIFO(32);
    this.txFifo = new FIFO(32);
    this.queue = [];          // host bytes not yet on the wire: Uint8Array chunks
    this.queueOffset = 0;
    this.queued = 0;
    this.ifls = 0x12;         // reset value: both triggers at 1/2
    this.stalls = 0;          // bytes held because the RX FIFO was full when they were due
    this.dropped = 0;         // bytes that arrived while the receiver was off
    this.received = 0;
    this.sent = 0;
    this.irqs = 0;            // rising edges of the interrupt line
    this.irqLevel = false;
    this.onByte = null;       // (byte) => void: a character has left TX
    this.shifting = false;
    // rp2040js's ClockAlarm.scheduled stays true after firing: keep our own flags
    this.rxPending = false;
    this.txPending = false;
    this.rxAlarm = clock.createAlarm(() => { this.rxPending = false; this.receiveOne(); });
    this.rtAlarm = clock.createAlarm(() => this.rxTimeout());
    this.txAlarm = clock.createAlarm(() => { this.txPending = false; this.txDone(); });
    uart.readUint32 = (offset) => this.read(offset);
    uart.writeUint32 = (offset, value) => this.write(offset, value);
    uart.checkInterrupts = () => this.update();
    uart.feedByte = (b) => this.feed(Uint8Array.of(b));
  }

  get baud() {
    return this.uart.baudDivider ? this.uart.baudRate : 115200;
  }

  get frameNanos() {
    const lcr = this.uart.lineCtrlRegister;
    const bits = 1 + this.uart.wordLength + (lcr & LCR_PEN ? 1 : 0) + (lcr & LCR_STP2 ? 2 : 1);
    return (bits * 1e9) / this.baud;
  }

  get bitNanos() {
    return 1e9 / this.baud;
  }

  get depth() {
    return this.uart.lineCtrlRegister & LCR_FEN ? 32 : 1;
  }

  get receiving() {
    const cr = this.uart.ctrlRegister;
    return (cr & CR_UARTEN) !== 0 && (cr & CR_RXE) !== 0;
  }

  // ---------------------------------------------------------------- host side
  /** Bytes from the host (the module) onto the wire towards the Pico's RX pin. */
  feed(bytes) {
    if (!bytes.length) return;
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (!this.rxPending) this.scheduleRx();
  }

  scheduleRx() {
    this.rxPending = true;
    this.rxAlarm.schedule(this.frameNanos);
  }

  receiveOne() {
    if (!this.queued) return;
    if (!this.receiving) {
      // nobody listens on a real wire either: the character is lost
      this.dropped++;
      this.takeQueued();
    } else if (this.rxFifo.itemCount >= this.depth) {
      this.stalls++;
      if (process.env.PICO_DEBUG_STALLS && this.stalls < 20) {
        const c = this.uart.rp2040.core;
        process.stderr.write(`stall pc=${c.PC.toString(16)} ipsr=${c.IPSR} pm=${c.PM} ris=${this.uart.interruptStatus} imsc=${this.uart.interruptMask} pend=${c.pendingInterrupts.toString(16)} en=${c.enabledInterrupts.toString(16)}\n`);
      }
    } else {
      this.rxFifo.push(this.takeQueued());
      this.received++;
      // PL011: the RX interrupt is raised when the level *reaches* the trigger, not while
      // it stays above (a handler that clears it without reading must not be re-entered)
      if (this.rxFifo.itemCount === this.rxTrigger) this.uart.interruptStatus |= INT_RX;
      this.rtAlarm.schedule(32 * this.bitNanos);
      this.update();
    }
    if (this.queued) this.scheduleRx();
  }

  takeQueued() {
    const head = this.queue[0];
    const b = head[this.queueOffset++];
    this.queued--;
    if (this.queueOffset >= head.length) {
      this.queue.shift();
      this.queueOffset = 0;
    }
    return b;
  }

  rxTimeout() {
    if (!this.rxFifo.empty) {
      this.uart.interruptStatus |= INT_RT;
      this.update();
    }
  }

  // ---------------------------------------------------------------- TX side
  startShift() {
    this.shifting = true;
    this.shiftByte = this.txFifo.pull();
    this.txPending = true;
    this.txAlarm.schedule(this.frameNanos);
    // PL011: the TX interrupt is raised when the level *drops to* the trigger
    if (this.txFifo.itemCount === this.txTrigger) this.uart.interruptStatus |= INT_TX;
  }

  get txTrigger() {
    return this.depth === 1 ? 0 : TRIGGER[this.ifls & 7] ?? 16;
  }

  txDone() {
    this.shifting = false;
    this.sent++;
    if (this.onByte) this.onByte(this.shiftByte);
    if (!this.txFifo.empty) this.startShift();
    this.update();
  }

  // ---------------------------------------------------------------- registers
  flags() {
    let f = 0;
    if (this.rxFifo.empty) f |= FR_RXFE;
    if (this.rxFifo.itemCount >= this.depth) f |= FR_RXFF;
    if (this.txFifo.itemCount >= this.depth) f |= FR_TXFF;
    if (this.txFifo.empty) f |= FR_TXFE;
    if (this.shifting || !this.txFifo.empty) f |= FR_BUSY;
    return f;
  }

  get rxTrigger() {
    return this.depth === 1 ? 1 : TRIGGER[(this.ifls >> 3) & 7] ?? 16;
  }

  update() {
    const u = this.uart;
    const level = (u.interruptStatus & u.interruptMask) !== 0;
    if (level && !this.irqLevel) this.irqs++;
    this.irqLevel = level;
    u.rp2040.setInterrupt(u.irq, level);
  }

  read(offset) {
    const u = this.uart;
    switch (offset) {
      case DR: {
        const value = this.rxFifo.pull();
        if (this.rxFifo.itemCount < this.rxTrigger) u.interruptStatus &= ~INT_RX;
        if (this.rxFifo.empty) u.interruptStatus &= ~INT_RT;
        else this.rtAlarm.schedule(32 * this.bitNanos);
        this.update();
        return value;
      }
      case FR:
        return this.flags();
      case IFLS:
        return this.ifls;
      case RIS:
        return u.interruptStatus;
      case MIS:
        return u.interruptStatus & u.interruptMask;
      case DMACR:
        return 0;
    }
    return Object.getPrototypeOf(u).readUint32.call(u, offset);
  }

  write(offset, value) {
    const u = this.uart;
    switch (offset) {
      case DR: {
        if (this.txFifo.itemCount >= this.depth) return; // a full FIFO ignores the write
        this.txFifo.push(value & 0xff);
        if (this.txFifo.itemCount > this.txTrigger) u.interruptStatus &= ~INT_TX;
        if (!this.shifting && (u.ctrlRegister & CR_TXE)) this.startShift();
        this.update();
        return;
      }
      case IFLS:
        this.ifls = value & 0x3f;
        this.update();
        return;
      case IMSC:
        u.interruptMask = value & 0x7ff;
        this.update();
        return;
      case ICR:
        u.interruptStatus &= ~u.rawWriteValue;
        this.update();
        return;
      case DMACR:
        return;
      case CR:
      case LCR_H:
      default:
        Object.getPrototypeOf(u).writeUint32.call(u, offset, value);
        if (offset === CR && !this.shifting && !this.txFifo.empty && (value & CR_TXE)) this.startShift();
    }
  }
}
