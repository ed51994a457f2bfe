"use strict";

// Entity types with their own colour in app.css; any other label shares one colour.
const knownLabels = ["PER", "LOC", "ORG", "MISC"];
const labelNames = { PER: "person", LOC: "location", ORG: "organisation", MISC: "other name" };

const form = document.getElementById("ner-form");
const textBox = document.getElementById("text");
const apiKeyBox = document.getElementById("api-key");
const submitButton = document.getElementById("submit");
const errorBox = document.getElementById("error");
const legend = document.getElementById("legend");
const result = document.getElementById("result");
const summary = document.getElementById("summary");

apiKeyBox.value = localStorage.getItem("ner-api-key") ?? "";

function labelClass(label) {
  return knownLabels.includes(label) ? `label-${label}` : "label-other";
}

function showLegend(labels) {
  legend.replaceChildren(...labels.map(label => {
    const item = document.createElement("li");
    item.className = labelClass(label);
    item.dataset.label = label;
    item.textContent = labelNames[label] ? `${label} (${labelNames[label]})` : label;
    return item;
  }));
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

// Offsets are UTF-16 code units, the same unit JavaScript strings count, so slices line up exactly.
function showEntities(text, entities) {
  const parts = [];
  let position = 0;
  for (const entity of [...entities].sort((a, b) => a.start - b.start)) {
    if (entity.start < position) continue;
    parts.push(document.createTextNode(text.slice(position, entity.start)));
    const mark = document.createElement("mark");
    mark.className = `entity ${labelClass(entity.label)}`;
    mark.dataset.label = entity.label;
    mark.dataset.score = entity.score.toFixed(3);
    mark.title = `${entity.label} · score ${entity.score.toFixed(3)}`;
    mark.textContent = text.slice(entity.start, entity.end);
    parts.push(mark);
    position = entity.end;
  }
  parts.push(document.createTextNode(text.slice(position)));
  result.replaceChildren(...parts);
  summary.textContent = `${entities.length} ${entities.length === 1 ? "entity" : "entities"} found.`;
}

async function loadModel() {
  try {
    const response = await fetch("model");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const model = await response.json();
    document.getElementById("model-info").textContent = `Model ${model.name} ${model.version}`;
    showLegend(model.entityTypes);
  } catch (error) {
    document.getElementById("model-info").textContent = `Model information unavailable (${error.message}).`;
    showLegend(knownLabels);
  }
}

form.addEventListener("submit", async event => {
  event.preventDefault();
  const text = textBox.value;
  const apiKey = apiKeyBox.value.trim();
  localStorage.setItem("ner-api-key", apiKey);
  showError("");
  submitButton.disabled = true;
  result.setAttribute("aria-busy", "true");
  try {
    const headers = { "Content-Type": "application/json" };
    if (apiKey) headers["X-Api-Key"] = apiKey;
    // The page is for looking: what is pasted here is not kept (and tagging works while the database is down).
    const response = await fetch("ner", { method: "POST", headers, body: JSON.stringify({ text, store: false }) });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      if (response.status === 401) document.getElementById("api-key-box").open = true;
      const retry = response.headers.get("Retry-After");
      showError(`${body?.title ?? `HTTP ${response.status}`} ${body?.detail ?? ""}${retry ? ` (retry in ${retry} s)` : ""}`.trim());
      return;
    }
    showEntities(text, body.entities);
  } catch (error) {
    showError(`The service could not be reached: ${error.message}`);
  } finally {
    submitButton.disabled = false;
    result.removeAttribute("aria-busy");
  }
});

loadModel();
