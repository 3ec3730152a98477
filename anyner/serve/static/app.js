// The anyner web page: send the form to POST /v1/extract, show the entities inline in the style
// of displaCy (a coloured mark per span, its label and score in the mark) and the raw JSON.
// The user's text goes into the page only as text nodes, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

// soft colours in the spirit of displaCy's; a label keeps its colour by its place in the list
const PALETTE = [
  "#aa9cfc", "#7aecec", "#bfeeb7", "#feca74", "#ff9561", "#c887fb",
  "#9cc9cc", "#ffeb80", "#ff8197", "#bfe1d9", "#e4e7d2", "#f0d0ff",
];

function colourOf(labels) {
  const index = new Map(labels.map((label, i) => [label, i]));
  return (label) => PALETTE[(index.get(label) ?? 0) % PALETTE.length];
}

// One node per span; the labels of the very same span (multi-label) share it. Spans nest inside
// the span that contains them; a span that partly overlaps another cannot be drawn inline.
function spanTree(entities) {
  const bySpan = new Map();
  for (const e of entities) {
    const key = `${e.start}:${e.end}`;
    if (!bySpan.has(key)) bySpan.set(key, { start: e.start, end: e.end, labels: [], children: [] });
    bySpan.get(key).labels.push(e);
  }
  const spans = [...bySpan.values()].sort((a, b) => a.start - b.start || b.end - a.end);
  const roots = [], open = [], overlapping = [];
  for (const span of spans) {
    while (open.length && open[open.length - 1].end <= span.start) open.pop();
    const parent = open[open.length - 1];
    if (parent && span.end > parent.end) {
      overlapping.push(span);
      continue;
    }
    (parent ? parent.children : roots).push(span);
    open.push(span);
  }
  return { roots, overlapping };
}

// chars: the text as code points, since the API's offsets count code points, not UTF-16 units
function render(chars, from, to, spans, colour, into) {
  let at = from;
  for (const span of spans) {
    if (span.start > at) into.append(chars.slice(at, span.start).join(""));
    const mark = document.createElement("mark");
    mark.className = "entity";
    mark.style.background = colour(span.labels[0].label);
    render(chars, span.start, span.end, span.children, colour, mark);
    for (const e of span.labels) {
      const tag = document.createElement("span");
      tag.className = "entity-label";
      tag.style.background = colour(e.label);
      tag.dataset.label = e.label;
      tag.dataset.score = String(e.score);
      tag.textContent = `${e.label} ${e.score.toFixed(2)}`;
      mark.append(tag);
    }
    into.append(mark);
    at = span.end;
  }
  if (to > at) into.append(chars.slice(at, to).join(""));
}

function showEntities(text, labels, entities) {
  const chars = Array.from(text);
  const { roots, overlapping } = spanTree(entities);
  const result = $("result");
  result.replaceChildren();
  render(chars, 0, chars.length, roots, colourOf(labels), result);
  $("overlapping").hidden = overlapping.length === 0;
  $("overlapping").textContent =
    "Partly overlapping another entity, so not marked above (see the JSON): " +
    overlapping.flatMap((s) => s.labels.map((e) => `"${e.text}" (${e.label})`)).join(", ");
  const n = entities.length;
  return `${n} ${n === 1 ? "entity" : "entities"}`;
}

function request() {
  const threshold = $("threshold").value.trim();
  return {
    text: $("text").value,
    labels: $("labels").value.split(",").map((label) => label.trim()),
    // an empty or non-numeric field goes as null: the server names the problem
    threshold: threshold === "" ? null : Number(threshold),
    flat_ner: !$("nested").checked,
    multi_label: $("multi-label").checked,
    // the adapters the server loaded at start, or "auto" (routed); "" is the base model
    adapter: $("adapter").value === "" ? null : $("adapter").value,
  };
}

function setState(state, message) {
  document.body.dataset.state = state;
  $("status").textContent = message;
}

async function extract(event) {
  event.preventDefault();
  const body = request();
  $("extract").disabled = true;
  setState("busy", "…");
  try {
    const response = await fetch("/v1/extract", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json();
    $("json").textContent = JSON.stringify(data, null, 2);
    if (!response.ok) {
      const message = data.error ? data.error.message : `${response.status} ${response.statusText}`;
      throw new Error(message);
    }
    $("error").hidden = true;
    $("output").hidden = false;
    const ran = data.results[0].adapter;
    $("routed").hidden = data.adapter !== "auto";
    $("routed").textContent = ran === null ? "Routed to the base model (no adapter was close enough)." : `Routed to adapter ${ran}.`;
    setState("done", showEntities(body.text, body.labels, data.results[0].entities));
  } catch (err) {
    $("output").hidden = true;
    $("error").textContent = err.message;
    $("error").hidden = false;
    setState("error", "");
  } finally {
    $("extract").disabled = false;
  }
}

async function showModel() {
  try {
    const response = await fetch("/v1/models");
    const { models } = await response.json();
    $("model").textContent = models.map((m) => m.name).join(", ");
    const adapters = models.flatMap((m) => m.adapters || []);
    const routing = models.some((m) => m.routing);
    for (const name of routing ? ["auto", ...adapters] : adapters) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name === "auto" ? "auto (routed per text)" : name;
      $("adapter").append(option);
    }
    // what a request naming no adapter would run with: the model's default
    $("adapter").value = models[0].default_adapter || "";
    $("adapter-choice").hidden = adapters.length === 0;
  } catch {
    $("model").textContent = "(unknown)";
  }
}

$("form").addEventListener("submit", extract);
$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("form").requestSubmit();
});
showModel();
