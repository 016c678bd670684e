// AudioWorklet processor (runs on the audio thread): microphone -> 16 kHz mono signed 16-bit
// little-endian PCM, posted to the page in chunks of `chunkMs` (1 s by default).
//
// The page asks for a 16 kHz AudioContext, but a browser may run it at the device rate (44.1 or
// 48 kHz) instead. Then each output sample is the average of the input samples it covers: a box
// filter, crude but enough to keep speech above the aliasing for the server's voice analysis,
// and it works for rates that are not a whole multiple of 16 kHz.

class Pcm16Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate = 16000, chunkMs = 1000 } = options.processorOptions || {};
    this.targetRate = targetRate;
    this.step = sampleRate / targetRate; // input samples per output sample (`sampleRate` is global here)
    this.inputCount = 0; // input samples seen
    this.nextOutputAt = this.step; // input count at which the next output sample is due
    this.sum = 0;
    this.summed = 0;
    this.setChunk(chunkMs);
    this.port.onmessage = ({ data }) => {
      if (data && data.chunkMs > 0) this.setChunk(data.chunkMs);
    };
  }

  setChunk(chunkMs) {
    this.chunkSamples = Math.round((this.targetRate * chunkMs) / 1000);
    this.startChunk(null);
  }

  startChunk(startTime) {
    this.buffer = new ArrayBuffer(this.chunkSamples * 2);
    this.view = new DataView(this.buffer);
    this.written = 0;
    this.startTime = startTime;
  }

  emit(value, time) {
    if (this.startTime === null) this.startTime = time;
    const clamped = Math.max(-1, Math.min(1, value));
    // Little-endian on purpose: Int16Array would use the platform's byte order.
    this.view.setInt16(this.written * 2, clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff, true);
    this.written += 1;
    if (this.written === this.chunkSamples) {
      this.port.postMessage({ pcm: this.buffer, startTime: this.startTime }, [this.buffer]);
      this.startChunk(null);
    }
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true; // no input connected (yet): keep alive
    const frames = channels[0].length;
    for (let i = 0; i < frames; i += 1) {
      let sample = 0;
      for (const channel of channels) sample += channel[i];
      this.sum += sample / channels.length;
      this.summed += 1;
      this.inputCount += 1;
      // Usually at most one output per input; several when the context runs below 16 kHz.
      while (this.inputCount >= this.nextOutputAt) {
        const value = this.summed > 0 ? this.sum / this.summed : sample / channels.length;
        this.emit(value, currentTime + i / sampleRate);
        this.sum = 0;
        this.summed = 0;
        this.nextOutputAt += this.step;
      }
    }
    return true;
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
