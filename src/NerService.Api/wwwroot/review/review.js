"use strict";

// The review workspace: lists stored documents (GET /documents with its filters, order and cursor), shows one
// with its entities, lets a reviewer add, relabel and remove entities, and saves them with
// PUT /documents/{id}/entities, which also marks the document reviewed.
//
// Offsets: stored documents count start and end in UTF-16 code units (end exclusive), the unit JavaScript
// strings count, so the text is sliced with the API's offsets directly. A selection in the page becomes offsets
// by measuring the text before each end of it (Range.toString().length, UTF-16 too), then widening to whole
// grapheme clusters (Intl.Segmenter), so an entity never splits a surrogate pair (emoji), an emoji sequence or a
// letter from its combining marks. Right-to-left text changes only how the text is drawn: offsets are logical.

const knownLabels = ["PER", "LOC", "ORG", "MISC"];
const labelNames = { PER: "person", LOC: "location", ORG: "organisation", MISC: "other name" };
// Keys the page itself uses; a label whose first letter is one of them gets only its digit.
const reservedKeys = new Set(["a", "j", "k"]);
const apiKeyStorage = "ner-api-key";
// Entities the model scored below this are drawn with a dashed outline: likely wrong (the scores are calibrated
// probabilities, so such an entity is wrong more than one time in five).
const unsureBelow = 0.8;

const $ = id => document.getElementById(id);
const apiKeyBox = $("api-key");
const errorBox = $("error");
const filtersForm = $("filters");
const listView = $("list-view");
const documentView = $("document-view");
const tableBody = document.querySelector("#documents tbody");
const moreButton = $("more");
const listStatus = $("list-status");
const textBox = $("doc-text");
const selectionInfo = $("selection-info");
const removeButton = $("remove");
const acceptButton = $("accept");
const saveStatus = $("save-status");

apiKeyBox.value = localStorage.getItem(apiKeyStorage) ?? "";
apiKeyBox.addEventListener("change", () => localStorage.setItem(apiKeyStorage, apiKeyBox.value.trim()));

const state = {
  labels: [],          // [{ label, keys: ["1", "p"] }]
  query: new URLSearchParams(),
  documents: [],       // the loaded list, in the order asked for
  nextCursor: null,
  index: -1,           // position of the open document in documents
  doc: null,           // the open document, read whole by id
  entities: [],        // its entities as edited, sorted by start
  selected: -1,        // index in entities of the selected entity, or -1
  boundaries: null,    // grapheme cluster boundaries of the open text (UTF-16 offsets)
  busy: false,
};

// ---- API calls: the key box's key as X-Api-Key, errors shown from the problem details --------------------------

class ApiError extends Error {
  constructor(status, problem) {
    super(`${status} ${problem?.title ?? "error"}${problem?.detail ? `: ${problem.detail}` : ""}`);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const key = apiKeyBox.value.trim();
  localStorage.setItem(apiKeyStorage, key);
  const headers = { ...(options.headers ?? {}) };
  if (key) headers["X-Api-Key"] = key;
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch (error) {
    throw new Error(`The service could not be reached: ${error.message}`);
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    throw new ApiError(response.status, problem);
  }
  return response;
}

function showError(error) {
  if (!error) {
    errorBox.hidden = true;
    errorBox.textContent = "";
    return;
  }
  let message = error.message;
  if (error.status === 401) {
    $("api-key-box").open = true;
    message += " Enter an API key with the reviewer role above.";
  } else if (error.status === 403) {
    message += " Use a key with that role.";
  }
  errorBox.textContent = message;
  errorBox.hidden = false;
}

// ---- Labels and their keys ------------------------------------------------------------------------------------

function labelClass(label) {
  return knownLabels.includes(label) ? `label-${label}` : "label-other";
}

function setLabels(entityTypes) {
  const ordered = [...knownLabels.filter(l => entityTypes.includes(l)), ...entityTypes.filter(l => !knownLabels.includes(l)).sort()];
  const firstLetters = ordered.map(l => l[0].toLowerCase());
  state.labels = ordered.map((label, i) => {
    const keys = i < 9 ? [String(i + 1)] : [];
    const letter = firstLetters[i];
    if (/^[a-z]$/.test(letter) && !reservedKeys.has(letter) && firstLetters.indexOf(letter) === firstLetters.lastIndexOf(letter)) keys.push(letter);
    return { label, keys };
  });

  $("labels").replaceChildren(...state.labels.map(({ label, keys }) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = labelClass(label);
    button.dataset.label = label;
    button.title = labelNames[label] ?? label;
    button.setAttribute("aria-keyshortcuts", keys.join(" "));
    button.append(label);
    for (const key of keys) {
      const kbd = document.createElement("kbd");
      kbd.textContent = key;
      button.append(kbd);
    }
    // Keep the text selection when the button is pressed: the click applies the label to it.
    button.addEventListener("mousedown", event => event.preventDefault());
    button.addEventListener("click", () => applyLabel(label));
    item.append(button);
    return item;
  }));

  const filter = $("label-filter");
  filter.replaceChildren(new Option("any", ""), ...ordered.map(l => new Option(l, l)));
}

function labelForKey(key) {
  return state.labels.find(l => l.keys.includes(key.toLowerCase()))?.label ?? null;
}

async function loadLabels() {
  try {
    const model = await (await api("../model")).json();
    setLabels(model.entityTypes);
  } catch {
    setLabels(knownLabels);
  }
}

// ---- The list -------------------------------------------------------------------------------------------------

function queryFromForm() {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(filtersForm)) {
    const text = String(value).trim();
    if (!text) continue;
    // datetime-local is the browser's local time without a zone; the API wants an instant.
    query.set(name, name === "from" || name === "to" ? new Date(text).toISOString() : text);
  }
  return query;
}

async function loadList() {
  state.query = queryFromForm();
  state.documents = [];
  state.nextCursor = null;
  tableBody.replaceChildren();
  listStatus.textContent = "Loading…";
  showError(null);
  try {
    await loadMore();
  } catch (error) {
    listStatus.textContent = "";
    showError(error);
  }
  refreshProgress();
}

async function loadMore() {
  const query = new URLSearchParams(state.query);
  if (state.nextCursor) query.set("cursor", state.nextCursor);
  const page = await (await api(`../documents?${query}`)).json();
  state.documents.push(...page.documents);
  state.nextCursor = page.nextCursor;
  tableBody.append(...page.documents.map(listRow));
  moreButton.hidden = !state.nextCursor;
  listStatus.textContent = state.documents.length === 0 ? "No documents match." : `${state.documents.length} shown${state.nextCursor ? ", more below" : ""}.`;
  return page.documents.length;
}

function listRow(doc) {
  const row = document.createElement("tr");
  row.dataset.id = doc.id;
  row.tabIndex = 0;
  row.classList.toggle("reviewed", doc.reviewed);
  const cells = [
    ["score", doc.lowestEntityScore == null ? "–" : doc.lowestEntityScore.toFixed(3)],
    ["snippet", doc.text.length > 160 ? `${doc.text.slice(0, 160)}…` : doc.text],
    ["entities", `${doc.entities.length}${doc.entitiesTruncated ? "+" : ""}`],
    ["reviewed", doc.reviewed ? "✓" : ""],
    ["when", new Date(doc.createdAt).toLocaleString()],
    ["model", `${doc.model.name} ${doc.model.version}`],
  ];
  for (const [name, text] of cells) {
    const cell = document.createElement("td");
    cell.className = name;
    cell.textContent = text;
    row.append(cell);
  }
  row.querySelector(".snippet").dir = "auto";
  const open = () => openDocument(state.documents.findIndex(d => d.id === doc.id));
  row.addEventListener("click", open);
  row.addEventListener("keydown", event => { if (event.key === "Enter") { event.preventDefault(); open(); } });
  return row;
}

async function refreshProgress() {
  // Progress over the whole filtered set, reviewed or not: "reviewed / total".
  const query = new URLSearchParams(state.query);
  for (const name of ["reviewed", "order"]) query.delete(name);
  try {
    const counts = await (await api(`../documents/count?${query}`)).json();
    $("progress").textContent = `${counts.reviewed} / ${counts.documents} reviewed`;
    $("progress").dataset.reviewed = counts.reviewed;
    $("progress").dataset.documents = counts.documents;
  } catch {
    $("progress").textContent = "";
  }
}

// ---- One document ---------------------------------------------------------------------------------------------

async function openDocument(index) {
  if (index < 0 || index >= state.documents.length || state.busy) return;
  state.busy = true;
  showError(null);
  try {
    const doc = await (await api(`../documents/${state.documents[index].id}`)).json();
    state.index = index;
    state.doc = doc;
    state.entities = doc.entities.map(({ label, start, end, text, score }) => ({ label, start, end, text, score }));
    state.selected = -1;
    state.boundaries = graphemeBoundaries(doc.text);
    for (const row of tableBody.rows) row.classList.toggle("current", row.dataset.id === String(doc.id));
    listView.hidden = true;
    documentView.hidden = false;
    $("document-heading").textContent = `Document ${doc.id}`;
    $("document-meta").textContent = `${index + 1} of ${state.documents.length}${state.nextCursor ? "+" : ""} · `
      + `${doc.reviewed ? "reviewed" : "not reviewed"} · lowest score ${doc.lowestEntityScore == null ? "–" : doc.lowestEntityScore.toFixed(3)} · `
      + `${doc.model.name} ${doc.model.version} · ${new Date(doc.createdAt).toLocaleString()}`;
    saveStatus.textContent = "";
    saveStatus.className = "muted";
    render();
    window.scrollTo(0, 0);
  } catch (error) {
    showError(error);
  } finally {
    state.busy = false;
  }
}

function showList() {
  documentView.hidden = true;
  listView.hidden = false;
  state.index = -1;
  state.doc = null;
  const row = tableBody.querySelector("tr.current");
  row?.focus();
}

function render() {
  const text = state.doc.text;
  const parts = [];
  let position = 0;
  state.entities.forEach((entity, i) => {
    parts.push(document.createTextNode(text.slice(position, entity.start)));
    const mark = document.createElement("mark");
    mark.className = `entity ${labelClass(entity.label)}${i === state.selected ? " selected" : ""}${entity.score != null && entity.score < unsureBelow ? " unsure" : ""}`;
    mark.dataset.index = i;
    mark.dataset.label = entity.label;
    mark.dataset.start = entity.start;
    mark.dataset.end = entity.end;
    mark.title = entity.score == null ? `${entity.label} · entered by a person` : `${entity.label} · score ${entity.score.toFixed(3)}`;
    mark.textContent = text.slice(entity.start, entity.end);
    parts.push(mark);
    position = entity.end;
  });
  parts.push(document.createTextNode(text.slice(position)));
  textBox.replaceChildren(...parts);

  const selected = state.entities[state.selected];
  removeButton.disabled = !selected;
  selectionInfo.textContent = selected
    ? `Selected: “${selected.text}” (${selected.label}, ${selected.score == null ? "entered by a person" : `score ${selected.score.toFixed(3)}`}, offsets ${selected.start}–${selected.end}). `
      + "A label key or button changes the label; Delete removes it."
    : `${state.entities.length} ${state.entities.length === 1 ? "entity" : "entities"}.`;
}

// Offsets of the current selection in the open text, or null when nothing inside it is selected.
function selectedSpan() {
  const selection = window.getSelection();
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  const text = state.doc.text;
  // A selection that runs past the text (a triple click takes the whole block) is cut to the text.
  const box = document.createRange();
  box.selectNodeContents(textBox);
  const clamp = (node, offset) => {
    const where = box.comparePoint(node, offset);
    return where < 0 ? 0 : where > 0 ? text.length : offsetOf(node, offset);
  };
  let start = clamp(range.startContainer, range.startOffset);
  let end = clamp(range.endContainer, range.endOffset);
  // Leave out white space picked up at the edges (a double-click may take the space after a word).
  while (start < end && /\s/u.test(text[start])) start++;
  while (end > start && /\s/u.test(text[end - 1])) end--;
  [start, end] = snapToGraphemes(start, end);
  return start < end ? { start, end } : null;
}

// The UTF-16 offset of a DOM position inside the text box: the length of the text before it. Label badges are
// CSS (::after), not text, so they do not count.
function offsetOf(node, offset) {
  const range = document.createRange();
  range.setStart(textBox, 0);
  range.setEnd(node, offset);
  return range.toString().length;
}

function graphemeBoundaries(text) {
  if (typeof Intl === "undefined" || !Intl.Segmenter) return null;
  const boundaries = [];
  for (const { index } of new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text)) boundaries.push(index);
  boundaries.push(text.length);
  return boundaries;
}

function snapToGraphemes(start, end) {
  const boundaries = state.boundaries;
  if (!boundaries) {
    // Without Intl.Segmenter, at least never split a surrogate pair.
    const text = state.doc.text;
    const isLow = i => i > 0 && i < text.length && /[\uDC00-\uDFFF]/.test(text[i]) && /[\uD800-\uDBFF]/.test(text[i - 1]);
    return [isLow(start) ? start - 1 : start, isLow(end) ? end + 1 : end];
  }
  // The last boundary at or before start, the first at or after end (binary searches).
  let low = 0, high = boundaries.length - 1;
  while (low < high) { const mid = (low + high + 1) >> 1; if (boundaries[mid] <= start) low = mid; else high = mid - 1; }
  const snappedStart = boundaries[low];
  low = 0; high = boundaries.length - 1;
  while (low < high) { const mid = (low + high) >> 1; if (boundaries[mid] >= end) high = mid; else low = mid + 1; }
  return [snappedStart, boundaries[low]];
}

function applyLabel(label) {
  if (!state.doc) return;
  const span = selectedSpan();
  if (span) {
    // A new entity replaces those it overlaps: the API keeps entities apart.
    const text = state.doc.text.slice(span.start, span.end);
    state.entities = state.entities.filter(e => e.end <= span.start || e.start >= span.end);
    state.entities.push({ label, start: span.start, end: span.end, text, score: null });
    state.entities.sort((a, b) => a.start - b.start);
    state.selected = state.entities.findIndex(e => e.start === span.start);
    window.getSelection().removeAllRanges();
  } else if (state.selected >= 0) {
    state.entities[state.selected] = { ...state.entities[state.selected], label, score: null };
  } else {
    selectionInfo.textContent = "Select some text or click an entity first.";
    return;
  }
  markEdited();
  render();
}

function removeSelected() {
  if (state.selected < 0) return;
  state.entities.splice(state.selected, 1);
  state.selected = -1;
  markEdited();
  render();
}

function markEdited() {
  saveStatus.textContent = "Not saved yet.";
  saveStatus.className = "muted";
}

async function accept() {
  if (!state.doc || state.busy) return;
  state.busy = true;
  acceptButton.disabled = true;
  showError(null);
  saveStatus.textContent = "Saving…";
  try {
    const entities = state.entities.map(({ label, start, end, text }) => ({ label, start, end, text }));
    const saved = await (await api(`../documents/${state.doc.id}/entities`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ entities }),
    })).json();
    state.documents[state.index] = { ...state.documents[state.index], reviewed: saved.reviewed, entities: saved.entities };
    const row = tableBody.querySelector(`tr[data-id="${saved.id}"]`);
    row?.replaceWith(listRow(state.documents[state.index]));
    saveStatus.textContent = "Saved.";
    saveStatus.className = "saved";
    refreshProgress();
  } catch (error) {
    showError(error);
    saveStatus.textContent = "Not saved.";
    return;
  } finally {
    state.busy = false;
    acceptButton.disabled = false;
  }
  await next();
}

async function next() {
  if (state.index + 1 >= state.documents.length && state.nextCursor) {
    try {
      await loadMore();
    } catch (error) {
      showError(error);
      return;
    }
  }
  if (state.index + 1 < state.documents.length) {
    await openDocument(state.index + 1);
  } else {
    showList();
    listStatus.textContent = `${state.documents.length} shown; that was the last one.`;
  }
}

// ---- Export: a download that carries the key ------------------------------------------------------------------

$("export").addEventListener("click", async event => {
  event.preventDefault();
  showError(null);
  try {
    const blob = await (await api(event.currentTarget.getAttribute("href"))).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "reviewed.conll";
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  } catch (error) {
    showError(error);
  }
});

// ---- Events ---------------------------------------------------------------------------------------------------

filtersForm.addEventListener("submit", event => {
  event.preventDefault();
  loadList();
});
moreButton.addEventListener("click", async () => {
  try {
    await loadMore();
  } catch (error) {
    showError(error);
  }
});
$("back").addEventListener("click", showList);
removeButton.addEventListener("click", removeSelected);
acceptButton.addEventListener("click", accept);

textBox.addEventListener("click", event => {
  // The end of a drag that selected text is not a click on an entity.
  if (!window.getSelection().isCollapsed) return;
  const mark = event.target.closest("mark.entity");
  state.selected = mark ? Number(mark.dataset.index) : -1;
  render();
});

document.addEventListener("keydown", event => {
  if (documentView.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest("input, select, textarea, summary")) return;
  const label = labelForKey(event.key);
  if (label) {
    event.preventDefault();
    applyLabel(label);
    return;
  }
  switch (event.key) {
    case "Delete":
    case "Backspace":
      event.preventDefault();
      removeSelected();
      break;
    case "Enter":
    case "a":
      event.preventDefault();
      accept();
      break;
    case "Escape":
      state.selected = -1;
      window.getSelection().removeAllRanges();
      render();
      break;
    case "j":
      event.preventDefault();
      next();
      break;
    case "k":
      event.preventDefault();
      openDocument(state.index - 1);
      break;
  }
});

loadLabels().then(loadList);
