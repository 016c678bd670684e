// Webcam frames and microphone audio for the proctoring stream.
//
// Frames: the camera is drawn into a 320x240 canvas (centre-cropped to 4:3, so faces are not
// squashed) and sent as JPEG at the cadence the server asks for. Audio: 16 kHz mono PCM from an
// AudioWorklet (pcm-worklet.js) in chunks of `audioChunkMs`, which the stream holds until the next
// frame and sends with it (stream.js, bundles). A lost camera or microphone is reported as an
// event and re-acquired in the background.

import { refusedInFrame } from "../checks/media.js";
import { offerNewWindow } from "../checks/new-window.js";
import { AUDIO, FRAME } from "./stream.js";

const FRAME_WIDTH = 320;
const FRAME_HEIGHT = 240;
const JPEG_QUALITY = 0.7;
const REACQUIRE_MS = 15_000;
const TARGET_RATE = 16_000;

// Resolves once the user has interacted with the page (sticky activation).
function userActivation() {
  if (!navigator.userActivation || navigator.userActivation.hasBeenActive) return Promise.resolve();
  return new Promise((resolve) => {
    // Activation is granted before these events are dispatched, but not by every key (Esc).
    const check = () => {
      if (!navigator.userActivation.hasBeenActive) return;
      window.removeEventListener("click", check, true);
      window.removeEventListener("keydown", check, true);
      resolve();
    };
    window.addEventListener("click", check, true);
    window.addEventListener("keydown", check, true);
  });
}

export function createMedia({ videoEl, stream, report, onCameraChange }) {
  const canvas = document.createElement("canvas");
  canvas.width = FRAME_WIDTH;
  canvas.height = FRAME_HEIGHT;
  const context2d = canvas.getContext("2d");
  let frameIntervalMs = 5000;
  let audioChunkMs = 1000;
  let frameTimer = null;
  let stopped = false;
  let camera = null; // MediaStreamTrack
  let microphone = null;
  let audio = null; // { context, source, node }
  const lost = { camera: false, microphone: false };
  const reacquireTimers = {};

  async function start() {
    await acquire({ video: true, audio: true });
    scheduleFrame();
  }

  async function acquire(wanted) {
    const constraints = {
      video: wanted.video && { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
      audio: wanted.audio && { channelCount: 1, echoCancellation: true, noiseSuppression: true },
    };
    let media;
    try {
      media = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      if (wanted.video && wanted.audio) {
        // Find out which one is missing: try each on its own.
        await acquire({ video: true, audio: false });
        await acquire({ video: false, audio: true });
        return;
      }
      // Refused inside the LMS's iframe: retrying will not help, a new window will.
      if (refusedInFrame(err)) offerNewWindow();
      markLost(wanted.video ? "camera" : "microphone", { reason: err.name, message: err.message });
      return;
    }
    if (stopped) {
      media.getTracks().forEach((track) => track.stop());
      return;
    }
    const videoTrack = media.getVideoTracks()[0];
    const audioTrack = media.getAudioTracks()[0];
    if (videoTrack) useCamera(videoTrack);
    if (audioTrack) await useMicrophone(audioTrack);
  }

  function useCamera(track) {
    camera = track;
    lost.camera = false;
    track.addEventListener("ended", () => markLost("camera", { reason: "ended", device: track.label }));
    videoEl.srcObject = new MediaStream([track]);
    // First frame as soon as there is a picture (if the socket is live by then; otherwise the
    // server's `welcome` asks for one).
    videoEl.addEventListener("loadeddata", sendFrameSoon, { once: true });
    videoEl.play().catch((err) => console.warn("Self-view did not start:", err));
    onCameraChange(true);
  }

  async function useMicrophone(track) {
    microphone = track;
    lost.microphone = false;
    track.addEventListener("ended", () => markLost("microphone", { reason: "ended", device: track.label }));
    try {
      await startAudio(track);
    } catch (err) {
      console.warn("Audio capture could not start:", err);
      markLost("microphone", { reason: "audio-processing", message: String(err.message || err) });
    }
  }

  function markLost(kind, details) {
    if (stopped) return;
    if (!lost[kind]) {
      lost[kind] = true;
      report(`${kind}-lost`, "high", details);
      if (kind === "camera") onCameraChange(false);
    }
    window.clearTimeout(reacquireTimers[kind]);
    reacquireTimers[kind] = window.setTimeout(() => {
      if (!stopped && lost[kind]) acquire({ video: kind === "camera", audio: kind === "microphone" });
    }, REACQUIRE_MS);
  }

  // --- frames ------------------------------------------------------------------------------

  function scheduleFrame(delay = frameIntervalMs) {
    window.clearTimeout(frameTimer);
    if (!stopped) frameTimer = window.setTimeout(captureFrame, delay);
  }

  function sendFrameSoon() {
    scheduleFrame(500);
  }

  function captureFrame() {
    scheduleFrame();
    if (!stream.isLive() || !camera || camera.readyState !== "live" || videoEl.readyState < 2) return;
    const captureMs = Date.now();
    const { videoWidth: w, videoHeight: h } = videoEl;
    const scale = Math.min(w / FRAME_WIDTH, h / FRAME_HEIGHT);
    const sw = FRAME_WIDTH * scale;
    const sh = FRAME_HEIGHT * scale;
    context2d.drawImage(videoEl, (w - sw) / 2, (h - sh) / 2, sw, sh, 0, 0, FRAME_WIDTH, FRAME_HEIGHT);
    canvas.toBlob(
      async (blob) => {
        if (!blob || stopped) return;
        stream.sendMedia(FRAME, await blob.arrayBuffer(), captureMs);
      },
      "image/jpeg",
      JPEG_QUALITY,
    );
  }

  // --- audio -------------------------------------------------------------------------------

  async function startAudio(track) {
    stopAudio();
    // Browsers keep an AudioContext made before the user has interacted with the page suspended
    // (and warn about it). The fullscreen button or the first answer is that interaction.
    await userActivation();
    if (stopped || track.readyState !== "live") return;
    const source = new MediaStream([track]);
    let context;
    let node;
    try {
      // Ask for 16 kHz directly; some browsers refuse to connect a microphone to a context at
      // another rate than the device's, so fall back to the default rate and resample in the
      // worklet.
      context = new AudioContext({ sampleRate: TARGET_RATE });
      node = await connectWorklet(context, source);
    } catch (err) {
      if (context) context.close();
      context = new AudioContext();
      node = await connectWorklet(context, source);
    }
    audio = { context, node };
  }

  async function connectWorklet(context, source) {
    await context.audioWorklet.addModule(new URL("./pcm-worklet.js", import.meta.url));
    const input = context.createMediaStreamSource(source);
    const node = new AudioWorkletNode(context, "pcm16-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: { targetRate: TARGET_RATE, chunkMs: audioChunkMs },
    });
    node.port.onmessage = ({ data }) => {
      // The chunk started (context.currentTime - data.startTime) seconds ago.
      const captureMs = Date.now() - (context.currentTime - data.startTime) * 1000;
      stream.sendMedia(AUDIO, data.pcm, captureMs);
    };
    input.connect(node);
    // The worklet writes silence; it is connected only so the graph keeps pulling it.
    node.connect(context.destination);
    return node;
  }

  function stopAudio() {
    if (!audio) return;
    audio.node.port.onmessage = null;
    audio.context.close().catch(() => {});
    audio = null;
  }

  // --- settings from the server ----------------------------------------------------------------

  function setFrameInterval(ms) {
    if (!(ms > 0) || ms === frameIntervalMs) return;
    frameIntervalMs = ms;
    scheduleFrame();
  }

  function setAudioChunk(ms) {
    if (!(ms > 0) || ms === audioChunkMs) return;
    audioChunkMs = ms;
    if (audio) audio.node.port.postMessage({ chunkMs: ms });
  }

  function stop() {
    stopped = true;
    window.clearTimeout(frameTimer);
    Object.values(reacquireTimers).forEach((timer) => window.clearTimeout(timer));
    stopAudio();
    for (const track of [camera, microphone]) if (track) track.stop();
    videoEl.srcObject = null;
  }

  return { start, stop, setFrameInterval, setAudioChunk, sendFrameSoon };
}
