// serkit page: upload a file or record from the microphone, POST it to /predict, show the
// emotion with its probabilities and, for long audio, a timeline of segments.
// Plain JS, no build step, nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const COLOURS = ["#3558d4", "#e0663a", "#2a9d6f", "#c2417f", "#8a63d2", "#d4a017", "#3a9bbf",
                 "#7a7f8c", "#b5542c", "#5a8f29"];
let classes = [];
let recorder = null;

function token() { return sessionStorage.getItem("serkit-token") || ""; }

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (token()) h["Authorization"] = "Bearer " + token();
  return h;
}

function colour(label) {
  const i = classes.indexOf(label);
  return COLOURS[(i < 0 ? classes.length : i) % COLOURS.length];
}

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({}, options, {
    headers: headers((options || {}).headers),
  }));
  if (response.status === 401 || response.status === 403) {
    $("token-box").hidden = false;
    $("token").focus();
  }
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const detail = body && body.detail ? body.detail : response.statusText;
    throw new Error(response.status + ": " + (typeof detail === "string" ? detail : JSON.stringify(detail)));
  }
  return body;
}

async function loadModel() {
  try {
    const info = await api("/model");
    classes = info.classes;
    $("model").textContent = "model: " + info.model + " \u00b7 classes: " + info.classes.join(", ")
      + " \u00b7 features: " + info.frontend.split("(")[0];
    $("model").title = "front end: " + info.frontend;
    const methods = info.segment_methods || ["none"];
    for (const option of $("segment").options) option.disabled = !methods.includes(option.value);
    $("segment-row").hidden = methods.length < 2;
    $("token-box").hidden = true;
    showError("");
  } catch (e) {
    $("model").textContent = "model information unavailable";
    showError(e.message);
  }
}

function query() {
  const method = $("segment").value;
  if (method === "none") return "";
  const p = new URLSearchParams({ segment: method, window_s: $("window_s").value,
                                  hop_s: $("hop_s").value });
  return "?" + p.toString();
}

async function predict(body, contentType) {
  showError("");
  $("busy").hidden = false;
  $("result").hidden = true;
  try {
    const options = { method: "POST", body: body };
    if (contentType) options.headers = { "Content-Type": contentType };
    show(await api("/predict" + query(), options));
  } catch (e) {
    showError(e.message);
  } finally {
    $("busy").hidden = true;
  }
}

function bars(target, probs, top) {
  target.textContent = "";
  const entries = Object.entries(probs).sort((a, b) => b[1] - a[1]);
  for (const [name, p] of entries) {
    const row = document.createElement("div");
    row.className = "bar" + (name === top ? " top" : "");
    row.setAttribute("role", "listitem");
    row.dataset.label = name;
    row.dataset.prob = String(p);
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.display = "block";
    fill.style.width = (100 * p).toFixed(1) + "%";
    fill.style.background = colour(name);
    track.appendChild(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = (100 * p).toFixed(1) + " %";
    row.append(label, track, value);
    target.appendChild(row);
  }
}

function show(result) {
  $("result").hidden = false;
  $("label").textContent = result.label;
  $("label").style.color = colour(result.label);
  $("duration").textContent = result.duration.toFixed(2) + " s of audio";
  bars($("probs"), result.probs, result.label);
  const segments = result.segments || [];
  $("segments").hidden = segments.length === 0;
  if (segments.length) timeline(segments, result.duration);
}

function timeline(segments, duration) {
  const line = $("timeline");
  const rows = document.querySelector("#segment-table tbody");
  line.textContent = "";
  rows.textContent = "";
  $("axis-end").textContent = duration.toFixed(1) + " s";
  const seen = new Set();
  segments.forEach((s, i) => {
    // overlapping windows: each block is drawn up to the start of the next one
    const next = i + 1 < segments.length ? Math.min(s.end, segments[i + 1].start) : s.end;
    const block = document.createElement("div");
    block.className = "seg" + (s.label ? "" : " none");
    block.style.left = (100 * s.start / duration) + "%";
    block.style.width = (100 * (Math.max(next, s.start) - s.start) / duration) + "%";
    if (s.label) { block.style.background = colour(s.label); seen.add(s.label); }
    block.title = s.start.toFixed(2) + "\u2013" + s.end.toFixed(2) + " s: " + (s.label || s.status);
    line.appendChild(block);
    const tr = document.createElement("tr");
    const p = s.label ? (100 * s.probs[s.label]).toFixed(1) + " %" : s.status;
    for (const cell of [s.start.toFixed(2), s.end.toFixed(2), s.label || "\u2013", p]) {
      const td = document.createElement("td");
      td.textContent = cell;
      tr.appendChild(td);
    }
    rows.appendChild(tr);
  });
  const legend = $("legend");
  legend.textContent = "";
  for (const name of classes.filter((c) => seen.has(c))) {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = colour(name);
    item.append(swatch, name);
    legend.appendChild(item);
  }
}

// -- microphone: WebAudio samples -> 16-bit PCM WAV -------------------------------------------
function wav(chunks, rate) {
  const n = chunks.reduce((sum, c) => sum + c.length, 0);
  const buffer = new ArrayBuffer(44 + 2 * n);
  const view = new DataView(buffer);
  const text = (offset, s) => { for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i)); };
  text(0, "RIFF"); view.setUint32(4, 36 + 2 * n, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true);
  view.setUint16(22, 1, true); view.setUint32(24, rate, true); view.setUint32(28, 2 * rate, true);
  view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, "data"); view.setUint32(40, 2 * n, true);
  let offset = 44;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++, offset += 2) {
      const x = Math.max(-1, Math.min(1, chunk[i]));
      view.setInt16(offset, x < 0 ? x * 0x8000 : x * 0x7fff, true);
    }
  }
  return new Blob([buffer], { type: "audio/wav" });
}

async function startRecording() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError("this browser gives no microphone here (the page must come from localhost or https)");
    return;
  }
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
  const context = new (window.AudioContext || window.webkitAudioContext)();
  const source = context.createMediaStreamSource(stream);
  const node = context.createScriptProcessor(4096, 1, 1);
  const chunks = [];
  node.onaudioprocess = (event) => chunks.push(new Float32Array(event.inputBuffer.getChannelData(0)));
  source.connect(node);
  node.connect(context.destination);
  recorder = { stream, context, source, node, chunks, started: Date.now() };
  $("record").textContent = "\u25a0 Stop";
  $("record").classList.add("recording");
  $("record-status").textContent = "recording\u2026";
}

async function stopRecording() {
  const r = recorder;
  recorder = null;
  r.source.disconnect();
  r.node.disconnect();
  r.stream.getTracks().forEach((t) => t.stop());
  const rate = r.context.sampleRate;
  await r.context.close();
  $("record").textContent = "\u25cf Record";
  $("record").classList.remove("recording");
  const blob = wav(r.chunks, rate);
  $("record-status").textContent = ((Date.now() - r.started) / 1000).toFixed(1) + " s recorded";
  $("player").src = URL.createObjectURL(blob);
  $("player").hidden = false;
  await predict(blob, "audio/wav");
}

// -- wiring -----------------------------------------------------------------------------------
$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  $("predict").disabled = !file;
  if (file) { $("player").src = URL.createObjectURL(file); $("player").hidden = false; }
});
$("predict").addEventListener("click", () => {
  const file = $("file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file, file.name);
  predict(form, null);
});
$("record").addEventListener("click", () => {
  (recorder ? stopRecording() : startRecording()).catch((e) => showError("microphone: " + e.message));
});
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("serkit-token", $("token").value.trim());
  loadModel();
});
loadModel();
