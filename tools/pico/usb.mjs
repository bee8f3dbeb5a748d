// The REPL: MicroPython's USB CDC serial, with the host side fixed to behave like a real
// host. rp2040js answers every OUT transfer at once with 0 bytes, so the firmware would
// spin in its USB interrupt; a real host NAKs until it has data. Its 512-byte TX FIFO
// drops beyond that: host bytes wait in our queue until there is room.

import { USBCDC } from 'rp2040js';

export class ReplBridge {
  constructor(usbCtrl) {
    this.cdc = new USBCDC(usbCtrl);
    this.queue = [];
    this.heldRead = null; // [endpoint, size] of an OUT transfer waiting for host data
    this.onData = null;   // (Uint8Array) => void: what the firmware printed
    this.connected = false;
    this.cdc.onDeviceConnected = () => { this.connected = true; this.pump(); };
    this.cdc.onSerialData = (buf) => { if (this.onData) this.onData(buf); };
    const answer = usbCtrl.onEndpointRead;
    this.answer = answer;
    usbCtrl.onEndpointRead = (endpoint, size) => {
      if (endpoint === this.cdc.outEndpoint && this.cdc.txFIFO.empty) {
        this.refill();
        if (this.cdc.txFIFO.empty) {
          this.heldRead = [endpoint, size];
          return;
        }
      }
      answer(endpoint, size);
    };
  }

  refill() {
    const fifo = this.cdc.txFIFO;
    while (this.queue.length && !fifo.full) {
      const head = this.queue[0];
      let i = 0;
      while (i < head.length && !fifo.full) fifo.push(head[i++]);
      if (i >= head.length) this.queue.shift();
      else this.queue[0] = head.subarray(i);
    }
  }

  /** Bytes typed by the host. */
  write(bytes) {
    this.queue.push(bytes);
    this.pump();
  }

  pump() {
    this.refill();
    if (this.heldRead && !this.cdc.txFIFO.empty) {
      const [endpoint, size] = this.heldRead;
      this.heldRead = null;
      this.answer(endpoint, size);
    }
  }
}
