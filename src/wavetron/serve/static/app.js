// The wavetron page: asks /v1/audio/speech for raw pcm at the voice's own rate and schedules each chunk on
// a Web Audio clock as it arrives, so speech starts after the first sentence. Nothing is loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { voices: [], context: null, lastUrl: null };
// what the last Speak did, for anyone watching the page (the tests read it)
window.wavetronLast = null;

function headers(extra) {
  const key = $("key").value || localStorage.getItem("wavetron-key") || "";
  const out = Object.assign({}, extra || {});
  if (key) out["Authorization"] = "Bearer " + key;
  return out;
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error && body.error.message ? body.error.message : response.statusText;
  } catch (_) {
    return response.statusText;
  }
}

async function loadVoices() {
  const response = await fetch("/v1/voices", { headers: headers() });
  if (!response.ok) {
    setStatus("voices: " + (await errorText(response)), true);
    return;
  }
  const body = await response.json();
  state.voices = body.voices;
  $("voice").replaceChildren(...body.voices.map((v) => new Option(`${v.name} (${v.sample_rate} Hz)`, v.name)));
  $("voice").value = body.default;
  showVocoders();
}

function showVocoders() {
  const voice = state.voices.find((v) => v.name === $("voice").value);
  if (!voice) return;
  $("vocoder").replaceChildren(...voice.vocoders.map((name) => new Option(name, name)));
  $("vocoder").value = voice.vocoder;
}

function wavBlob(chunks, rate) {
  const bytes = chunks.reduce((n, c) => n + c.length, 0);
  const header = new DataView(new ArrayBuffer(44));
  const text = (at, s) => [...s].forEach((ch, i) => header.setUint8(at + i, ch.charCodeAt(0)));
  text(0, "RIFF"); header.setUint32(4, 36 + bytes, true); text(8, "WAVE"); text(12, "fmt ");
  header.setUint32(16, 16, true); header.setUint16(20, 1, true); header.setUint16(22, 1, true);
  header.setUint32(24, rate, true); header.setUint32(28, rate * 2, true); header.setUint16(32, 2, true);
  header.setUint16(34, 16, true); text(36, "data"); header.setUint32(40, bytes, true);
  return new Blob([header, ...chunks], { type: "audio/wav" });
}

async function showDetails(id) {
  const response = await fetch(`/api/requests/${id}`, { headers: headers() });
  if (!response.ok) return;
  const record = await response.json();
  const rows = record.sentences.map((s) => {
    const row = document.createElement("tr");
    [s.text, s.tacotron_s.toFixed(3), s.vocoder_s.toFixed(3), s.audio_s.toFixed(2)].forEach((value) => {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(cell);
    });
    return row;
  });
  $("timings").tBodies[0].replaceChildren(...rows);
  const foot = document.createElement("tr");
  const cell = document.createElement("td");
  cell.colSpan = 4;
  cell.textContent = `first audio after ${record.time_to_first_audio_s.toFixed(3)} s, all in ` +
    `${record.total_s.toFixed(3)} s (${record.status})`;
  foot.append(cell);
  $("timings").tFoot.replaceChildren(foot);
  $("timings").hidden = false;
  const image = await fetch(`/api/requests/${id}/alignment.png`, { headers: headers() });
  if (image.ok) {
    $("alignment").src = URL.createObjectURL(await image.blob());
    $("alignment").hidden = false;
  }
}

async function speak(event) {
  event.preventDefault();
  const voice = state.voices.find((v) => v.name === $("voice").value);
  if (!voice) return;
  if ($("key").value) localStorage.setItem("wavetron-key", $("key").value);
  const rate = voice.sample_rate;
  if (!state.context) state.context = new AudioContext();
  const context = state.context;
  await context.resume();
  $("speak").disabled = true;
  $("download").hidden = true;
  setStatus("synthesising the first sentence...");
  const started = performance.now();
  const last = { samples: 0, sampleRate: rate, duration: 0, firstAudioMs: null, playedSeconds: 0, ended: false,
                 error: null, requestId: null };
  window.wavetronLast = last;
  try {
    const response = await fetch("/v1/audio/speech", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ model: "wavetron", input: $("text").value, voice: voice.name,
                             vocoder: $("vocoder").value, speed: Number($("speed").value),
                             response_format: "pcm", sample_rate: rate }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    last.requestId = response.headers.get("X-Wavetron-Request-Id");
    const reader = response.body.getReader();
    const chunks = [];
    let carry = new Uint8Array(0);
    let clock = 0;
    let playStart = null;
    let lastSource = null;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const bytes = new Uint8Array(carry.length + value.length);
      bytes.set(carry); bytes.set(value, carry.length);
      const whole = bytes.length - (bytes.length % 2);  // 16-bit samples may straddle two chunks
      carry = bytes.slice(whole);
      if (whole === 0) continue;
      const block = bytes.slice(0, whole);
      chunks.push(block);
      const pcm = new Int16Array(block.buffer);
      const buffer = context.createBuffer(1, pcm.length, rate);
      const channel = buffer.getChannelData(0);
      for (let i = 0; i < pcm.length; i++) channel[i] = pcm[i] / 32768;
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(context.destination);
      if (playStart === null) {
        playStart = context.currentTime + 0.05;
        clock = playStart;
        last.firstAudioMs = performance.now() - started;
        setStatus(`speaking (first audio after ${(last.firstAudioMs / 1000).toFixed(2)} s)...`);
      }
      clock = Math.max(clock, context.currentTime);
      source.start(clock);
      clock += buffer.duration;
      last.samples += pcm.length;
      last.duration = last.samples / rate;
      lastSource = source;
    }
    if (lastSource === null) throw new Error("no audio came back");
    const url = URL.createObjectURL(wavBlob(chunks, rate));
    if (state.lastUrl) URL.revokeObjectURL(state.lastUrl);
    state.lastUrl = url;
    $("download").href = url;
    $("download").hidden = false;
    const finished = new Promise((resolve) => { lastSource.onended = resolve; });
    showDetails(last.requestId);
    await finished;
    last.playedSeconds = context.currentTime - playStart;
    last.ended = true;
    setStatus(`spoke ${last.duration.toFixed(2)} s of audio; first audio after ` +
              `${(last.firstAudioMs / 1000).toFixed(2)} s`);
  } catch (error) {
    last.error = String(error.message || error);
    setStatus(last.error, true);
  } finally {
    $("speak").disabled = false;
  }
}

$("speed").addEventListener("input", () => { $("speed-value").value = Number($("speed").value).toFixed(2); });
$("voice").addEventListener("change", showVocoders);
$("key").addEventListener("change", () => { localStorage.setItem("wavetron-key", $("key").value); loadVoices(); });
$("form").addEventListener("submit", speak);
$("key").value = localStorage.getItem("wavetron-key") || "";
loadVoices();
