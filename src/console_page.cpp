// The Console's page (plain HTML, CSS and JavaScript, served from the binary) and its routes.
#include "console_page.hpp"

#include <cstddef>

namespace mode::detail {

namespace {

// The body keeps what a test (or a curious reader) needs to tell a live page from a reloaded
// one: data-loads (loads in this tab), data-loaded-at, data-updates (trees received),
// data-updated-at, data-crash-seen-at (first tree with a crashed service; epoch ms), data-status,
// data-events-of (the path of the service whose events the panel shows) and data-event-kinds
// (theirs, oldest first). Every service is an <li class="service" data-label=... data-state=...>;
// each event of the panel an <li class="event" data-kind=...>.
constexpr std::string_view kPage = R"page(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mode console</title>
<style>
  :root { --running: #1a7f37; --crashed: #cf222e; --stopping: #bf8700; --shutdown: #6e7781;
          --init: #0969da; --line: #d0d7de; --muted: #57606a; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
         color: #1f2328; background: #f6f8fa; }
  header { display: flex; gap: 1.5em; align-items: baseline; flex-wrap: wrap;
           padding: .7em 1.2em; background: #24292f; color: #fff; }
  header h1 { font-size: 1.1em; margin: 0; }
  header .facts { color: #d0d7de; }
  #status { margin-left: auto; padding: .1em .6em; border-radius: 1em; background: #57606a; }
  #status[data-status="live"] { background: var(--running); }
  #status[data-status="closed"] { background: var(--crashed); }
  main { display: grid; grid-template-columns: minmax(28em, 3fr) minmax(16em, 2fr); gap: 1em;
         padding: 1em 1.2em; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8em; }
  h2 { font-size: 1em; margin: 0 0 .6em; }
  ul.tree, ul.children { list-style: none; margin: 0; padding: 0; }
  ul.children { margin-left: 1.1em; padding-left: .8em; border-left: 2px solid var(--line); }
  li.service { margin: .35em 0; }
  .head { display: flex; gap: .6em; align-items: baseline; flex-wrap: wrap; }
  .label { font-weight: 600; }
  .state { color: #fff; border-radius: 1em; padding: 0 .55em; font-size: .85em;
           background: var(--shutdown); }
  [data-state="running"] > .head > .state { background: var(--running); }
  [data-state="crashed"] > .head > .state { background: var(--crashed); }
  [data-state="stopping"] > .head > .state { background: var(--stopping); }
  [data-state="init"] > .head > .state { background: var(--init); }
  .meta, .supervisor, .detail { color: var(--muted); font-size: .9em; }
  .crash { color: var(--crashed); font-family: ui-monospace, monospace; font-size: .85em;
           white-space: pre-wrap; }
  .chip { display: inline-block; border: 1px solid var(--line); border-radius: 4px;
          padding: 0 .35em; margin: 0 .2em .1em 0; font-family: ui-monospace, monospace;
          font-size: .85em; }
  .suspended { font-family: ui-monospace, monospace; font-size: .8em; color: var(--muted);
               margin: .1em 0 0 1em; overflow-wrap: anywhere; }
  .head { cursor: pointer; border-radius: 4px; }
  .head:hover { background: #f3f4f6; }
  .head.selected { background: #ddf4ff; box-shadow: 0 0 0 1px #54aeff; }
  .side { display: flex; flex-direction: column; gap: 1em; min-width: 0; }
  #events-of { font-family: ui-monospace, monospace; font-weight: normal; }
  ol.events { list-style: none; margin: 0; padding: 0; max-height: 28em; overflow: auto;
              font-family: ui-monospace, monospace; font-size: .85em; }
  li.event { padding: .1em 0; border-bottom: 1px solid #eaeef2; overflow-wrap: anywhere; }
  li.event .age { color: var(--muted); display: inline-block; min-width: 6.5em; }
  li.event[data-kind="crashed"], li.event[data-kind="gave_up"] { color: var(--crashed); }
  li.event[data-kind="restart_delayed"], li.event[data-kind="slow_stop"],
  li.event[data-kind="late_timer"] { color: var(--stopping); }
  #graph img { max-width: 100%; }
  #graph pre { font-size: .8em; overflow: auto; }
</style>
</head>
<body>
<header>
  <h1>mode console</h1>
  <span class="facts" id="facts"></span>
  <span id="status" data-status="connecting">connecting</span>
</header>
<main>
  <section><h2>Services</h2><ul class="tree" id="tree"></ul></section>
  <div class="side">
    <section id="graph"><h2>Graph</h2><div id="drawing"></div></section>
    <section id="panel"><h2>Events of <span id="events-of"></span></h2>
      <ol class="events" id="events"></ol>
      <div class="detail">Click a service to show its events; click it again to show the first
        crashed service's (else the root's).</div></section>
  </div>
</main>
<script>
"use strict";
const body = document.body;
const loads = (Number(sessionStorage.getItem("mode-console-loads")) || 0) + 1;
sessionStorage.setItem("mode-console-loads", String(loads));
body.dataset.loads = loads;
body.dataset.loadedAt = Date.now();
body.dataset.updates = 0;

function element(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function chips(parent, name, values) {
  if (!values || values.length === 0) return;
  const row = element("div", "detail", name + " ");
  for (const v of values) row.append(element("span", "chip", v));
  parent.append(row);
}

function service(node, crashed) {
  const li = element("li", "service");
  li.dataset.label = node.label;
  li.dataset.state = node.state;
  if (node.state === "crashed") crashed.push(node.label);
  const head = element("div", "head");
  const last = node.last_event ? " \u00b7 " + node.last_event : "";
  head.append(element("span", "label", node.label), element("span", "state", node.state),
              element("span", "meta", "restarts " + node.restart_count + last));
  head.dataset.path = node.path;
  head.title = "show the events of " + node.path;
  head.onclick = () => choose(node.path);
  head.classList.toggle("selected", node.path === eventsOf);
  li.append(head);
  if (node.crash_reason) li.append(element("div", "crash", node.crash_reason));
  const sup = node.supervisor;
  if (sup) {
    li.append(element("div", "supervisor",
        sup.strategy + ": at most " + sup.max_restarts + " restarts in " + sup.over + " s (" +
        sup.restarts_in_window + " now), gave up " + sup.give_ups + " times"));
  }
  if (node.tasks === null) li.append(element("div", "detail", "on a thread of its own"));
  chips(li, "flags", node.flags);
  chips(li, "tasks", node.tasks);
  for (const s of node.suspended || []) li.append(element("div", "suspended", s));
  if (node.children && node.children.length) {
    const ul = element("ul", "children");
    for (const c of node.children) ul.append(service(c, crashed));
    li.append(ul);
  }
  return li;
}

// The labels in tree order: the graph is drawn again only when they change.
function shapeOf(node) {
  return node.label + "(" + (node.children || []).map(shapeOf).join(",") + ")";
}

let shape = "";
let drawing = null;
async function drawGraph() {
  const target = document.getElementById("drawing");
  try {
    const response = await fetch("/graph.svg", {cache: "no-store"});
    if (!response.ok) throw new Error("HTTP " + response.status);
    const type = response.headers.get("Content-Type") || "";
    if (type.startsWith("image/svg+xml")) {
      if (drawing) URL.revokeObjectURL(drawing);
      drawing = URL.createObjectURL(await response.blob());
      const img = element("img");
      img.alt = "the service graph";
      img.src = drawing;
      target.replaceChildren(img);
    } else {
      // No graphviz where the program runs: its DOT text.
      target.replaceChildren(element("pre", "", await response.text()));
    }
  } catch (e) {
    target.replaceChildren(element("div", "detail", "no graph: " + e.message));
  }
}

function show(doc) {
  const crashed = [];
  document.getElementById("tree").replaceChildren(service(doc.tree, crashed));
  document.getElementById("facts").textContent = "pid " + doc.pid + " \u00b7 loop " + doc.loop +
      " \u00b7 updated " + new Date().toLocaleTimeString();
  body.dataset.updates = Number(body.dataset.updates) + 1;
  body.dataset.updatedAt = Date.now();
  body.dataset.crashed = crashed.join(",");
  if (crashed.length && !body.dataset.crashSeenAt) body.dataset.crashSeenAt = Date.now();
  const s = shapeOf(doc.tree);
  if (s !== shape) {
    shape = s;
    drawGraph();
  }
}

// The events panel: the service whose events the stream sends (the `events` events), their
// ages counted on between two of them.
let eventsOf = "";
let shownEvents = [];
let eventsAt = 0;

function renderEvents() {
  const list = document.getElementById("events");
  if (shownEvents === null) {
    list.replaceChildren(
        element("li", "detail", "on a thread of its own: its events are its thread's"));
    return;
  }
  if (shownEvents.length === 0) {
    list.replaceChildren(element("li", "detail", "no events yet"));
    return;
  }
  const since = (Date.now() - eventsAt) / 1000;
  list.replaceChildren(...shownEvents.map((e) => {
    const li = element("li", "event");
    li.dataset.kind = e.kind;
    // The text begins with the age it had when sent: the age shown is counted on instead.
    li.append(element("span", "age", (e.age + since).toFixed(1) + " s ago"), " ",
              element("span", "what", e.text.replace(/^[0-9.]+ s ago: /, "")));
    return li;
  }));
}

function showEvents(doc) {
  const list = document.getElementById("events");
  const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 2;
  eventsOf = doc.service;
  shownEvents = doc.events;
  eventsAt = Date.now();
  body.dataset.eventsOf = doc.service;
  body.dataset.eventKinds = (doc.events || []).map((e) => e.kind).join(",");
  document.getElementById("events-of").textContent = doc.service;
  renderEvents();
  if (atEnd) list.scrollTop = list.scrollHeight;  // follows the newest, unless scrolled back
  for (const head of document.querySelectorAll("#tree .head"))
    head.classList.toggle("selected", head.dataset.path === eventsOf);
}
setInterval(renderEvents, 1000);

function status(name, text) {
  const e = document.getElementById("status");
  e.dataset.status = name;
  body.dataset.status = name;
  e.textContent = text;
}

// The stream follows the clicked service (its path), or, while none is, the first crashed one
// (else the root).
let chosen = null;
let stream = null;
function follow() {
  if (stream) stream.close();
  stream = new EventSource(chosen === null ? "/stream"
                                           : "/stream?service=" + encodeURIComponent(chosen));
  stream.onopen = () => status("live", "live");
  stream.onmessage = (e) => show(JSON.parse(e.data));
  stream.addEventListener("events", (e) => showEvents(JSON.parse(e.data)));
  stream.onerror = () => status("closed", "disconnected: the program stopped? retrying");
}

function choose(path) {
  chosen = chosen === path ? null : path;
  follow();
}
follow();
</script>
</body>
</html>
)page";

}  // namespace

std::string_view console_page() noexcept { return kPage; }

ConsoleAnswer console_answer_for(std::string_view target, std::string_view accept) noexcept {
  if (target == "/") {
    // An Accept header that names JSON before HTML: a script, not a browser.
    const std::size_t json = accept.find("application/json");
    const bool wants_json = json != std::string_view::npos && json < accept.find("text/html");
    return wants_json ? ConsoleAnswer::tree : ConsoleAnswer::page;
  }
  if (target == "/tree") return ConsoleAnswer::tree;
  if (target == "/events") return ConsoleAnswer::events;
  if (target == "/stream") return ConsoleAnswer::stream;
  if (target == "/graph") return ConsoleAnswer::graph;
  if (target == "/graph.svg") return ConsoleAnswer::graph_svg;
  if (target == "/health") return ConsoleAnswer::health;
  return ConsoleAnswer::not_found;
}

}  // namespace mode::detail
