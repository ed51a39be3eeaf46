// 话术 Huashu web pages: the little JavaScript they need (no framework, no build step, no CDN).
// Each page says what it is in <body data-page>; the server gives the words (strings.yaml, in the
// page's language), the category names and the user in <script id="hs-data">.
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("hs-data").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  function T(key, values) {
    let text = data.strings[key] !== undefined ? data.strings[key] : key;
    for (const [k, v] of Object.entries(values || {})) text = text.split("{" + k + "}").join(String(v));
    return text;
  }
  // shared with review.js (loaded after this file): the page's data, its CSRF token, the words
  window.huashuPage = Object.freeze({ data, csrf, T });

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  const pad = (n) => String(n).padStart(2, "0");
  function when(iso) {
    const d = new Date(iso);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
  }

  function errorMessage(status, body) {
    if (body && body.error && body.error.message) return body.error.message;
    return T("error.http", { status });
  }

  // The text of one utterance with its flagged spans in <mark> (overlapping spans merged).
  function marked(text, flags) {
    const chars = Array.from(text); // flags count code points, like Python
    const spans = flags.map((f) => [f.start, f.end]).filter(([s, e]) => s >= 0 && s < e && e <= chars.length)
      .sort((a, b) => a[0] - b[0]);
    const out = document.createDocumentFragment();
    let pos = 0;
    for (const [s0, e0] of spans) {
      let s = s0;
      if (e0 <= pos) continue;
      if (s < pos) s = pos;
      if (s > pos) out.append(chars.slice(pos, s).join(""));
      out.append(el("mark", { text: chars.slice(s, e0).join("") }));
      pos = e0;
    }
    if (pos < chars.length) out.append(chars.slice(pos).join(""));
    return out;
  }

  // -- upload: drag and drop, several files at once, progress and errors per file ------------
  function uploadPage() {
    const input = document.getElementById("files");
    const zone = document.getElementById("drop-zone");
    const list = document.getElementById("upload-list");
    const form = document.getElementById("upload-form");
    const queue = [];
    let active = 0;

    ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.add("over");
    }));
    ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.remove("over");
    }));
    zone.addEventListener("drop", (e) => add(e.dataTransfer.files));
    input.addEventListener("change", () => {
      add(input.files);
      input.value = "";
    });
    form.addEventListener("submit", (e) => e.preventDefault());

    function add(files) {
      for (const file of Array.from(files || [])) {
        const bar = el("progress", { max: "1", value: "0" });
        const status = el("span", { class: "status", text: T("upload.waiting") });
        const item = el("li", { class: "upload-item pending", "data-name": file.name },
          el("span", { class: "name", text: file.name }),
          el("span", { class: "size", text: `${Math.max(1, Math.round(file.size / 1024))} KB` }), bar, status);
        list.prepend(item);
        queue.push({ file, item, bar, status });
      }
      pump();
    }

    function pump() {
      while (active < 3 && queue.length) {
        active += 1;
        send(queue.shift()).finally(() => {
          active -= 1;
          pump();
        });
      }
    }

    function finish(job, ok, content) {
      job.item.classList.remove("pending");
      job.item.classList.add(ok ? "ok" : "failed");
      job.status.replaceChildren(content);
      if (!ok) job.status.setAttribute("role", "alert");
    }

    // A ZIP: one line per file in it, each with its call or its error (api/routes/batch.py).
    function finishZip(job, answer) {
      const rows = answer.files.map((f) => {
        const outcome = f.status === "stored" || f.status === "existing"
          ? el("span", {}, T(`upload.zip.${f.status}`, { flags: f.flags }) + " ",
            el("a", { href: `/web/calls/${encodeURIComponent(f.id)}`, text: T("upload.open") }))
          : el("span", { class: "error" }, T(`upload.zip.${f.status}`) + " " + f.error.message);
        return el("li", { class: `zip-member ${f.status}`, "data-name": f.name },
          el("span", { class: "name", text: f.name }), " → ", outcome);
      });
      finish(job, answer.stored + answer.existing > 0, el("span", {},
        T("upload.zip.summary", { stored: answer.stored, existing: answer.existing, failed: answer.failed, skipped: answer.skipped }),
        el("ul", { class: "zip-members" }, ...rows)));
    }

    function send(job) {
      return new Promise((resolve) => {
        if (job.file.size > data.maxUploadBytes) {
          finish(job, false, T("upload.too_large", { limit: Math.floor(data.maxUploadBytes / 1024) }));
          return resolve();
        }
        const body = new FormData();
        body.append("file", job.file, job.file.name);
        for (const [field, id] of [["team", "team"], ["agent_label", "agent-label"], ["customer_label", "customer-label"],
          ["agent_name", "agent-name"], ["employee_id", "employee-id"], ["started_at", "started-at"], ["channel", "channel"]]) {
          const input = document.getElementById(id);
          const value = input ? input.value.trim() : "";
          if (value) body.append(field, value);
        }
        const zip = /\.zip$/i.test(job.file.name);
        const xhr = new XMLHttpRequest();
        xhr.open("POST", zip ? "/v1/transcripts/zip" : "/v1/transcripts");
        xhr.setRequestHeader("X-CSRF-Token", csrf);
        xhr.responseType = "json";
        job.status.textContent = T("upload.sending");
        xhr.upload.onprogress = (e) => {
          if (e.lengthComputable) job.bar.value = e.loaded / e.total;
        };
        xhr.upload.onload = () => {
          job.bar.value = 1;
          job.status.textContent = T("upload.analysing");
        };
        xhr.onload = () => {
          job.bar.value = 1;
          const answer = xhr.response;
          if (zip && xhr.status === 200 && answer && answer.files) {
            finishZip(job, answer);
          } else if (!zip && xhr.status === 200 && answer && answer.id && xhr.getResponseHeader("Huashu-Duplicate-Of")) {
            // the same file was stored before: not stored again; link to the stored call
            finish(job, true, el("span", { class: "duplicate" },
              T("upload.duplicate", { source: answer.source || "" }) + " ",
              el("a", { href: `/web/calls/${encodeURIComponent(answer.id)}`, text: T("upload.open_stored") })));
          } else if (xhr.status === 201 && answer && answer.id) {
            const flags = (answer.summary && answer.summary.flags) || 0;
            finish(job, true, el("span", {},
              T("upload.done", { flags }) + " ",
              el("a", { href: `/web/calls/${encodeURIComponent(answer.id)}`, text: T("upload.open") })));
          } else {
            finish(job, false, errorMessage(xhr.status, answer));
          }
          resolve();
        };
        xhr.onerror = () => {
          finish(job, false, T("upload.network"));
          resolve();
        };
        xhr.send(body);
      });
    }
  }

  // -- one call: confirm or dismiss flags; hovering a mark shows its note and back ----------
  function renderVerdicts(card, verdicts) {
    const list = card.querySelector("ul.verdicts");
    const reasonsNode = document.getElementById("hs-reasons"); // reason code → label (review_call.html)
    const reasons = reasonsNode ? JSON.parse(reasonsNode.textContent) : {};
    list.replaceChildren(...verdicts.map((v) => el("li", { class: `verdict ${v.verdict}`, "data-key-id": v.key.id },
      `${T("verdict." + v.verdict)} · `, el("span", { class: "by", text: v.key.name }), " · ",
      el("time", { datetime: v.at, text: when(v.at) }),
      v.reason ? " · " : null, v.reason ? el("span", { class: "reason", "data-reason": v.reason, text: reasons[v.reason] || v.reason }) : null,
      v.note ? " · " : null, v.note ? el("q", { class: "note", text: v.note }) : null)));
  }

  // the reason code and comment beside the buttons (review_flag.html), when the page has them
  function reviewFields(card) {
    const reason = card.querySelector("select.reason");
    const note = card.querySelector("input.note");
    return { reason: (reason && reason.value) || null, note: (note && note.value.trim()) || null };
  }

  function callPage() {
    for (const card of document.querySelectorAll("article.flag")) {
      const id = card.dataset.flagId;
      const marks = document.querySelectorAll("mark[data-flags]");
      const mine = Array.from(marks).filter((m) => m.dataset.flags.split(" ").includes(id));
      const on = () => { card.classList.add("hl"); mine.forEach((m) => m.classList.add("hl")); };
      const off = () => { card.classList.remove("hl"); mine.forEach((m) => m.classList.remove("hl")); };
      card.addEventListener("mouseenter", on);
      card.addEventListener("mouseleave", off);
      mine.forEach((m) => { m.addEventListener("mouseenter", on); m.addEventListener("mouseleave", off); });

      const buttons = card.querySelectorAll("button[data-verdict]");
      const status = card.querySelector(".actions .status");
      for (const button of buttons) {
        button.addEventListener("click", async () => {
          buttons.forEach((b) => { b.disabled = true; });
          status.textContent = T("verdict.saving");
          status.classList.remove("error");
          try {
            const r = await fetch(`/v1/flags/${encodeURIComponent(id)}/verdict`, {
              method: "POST", credentials: "same-origin",
              headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
              body: JSON.stringify({ verdict: button.dataset.verdict, ...reviewFields(card) }),
            });
            const body = await r.json().catch(() => null);
            if (!r.ok) throw new Error(errorMessage(r.status, body));
            renderVerdicts(card, body.verdicts);
            buttons.forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
            status.textContent = T("verdict.saved");
          } catch (err) {
            status.textContent = err.message || T("upload.network");
            status.classList.add("error");
          } finally {
            buttons.forEach((b) => { b.disabled = false; });
          }
        });
      }
    }
  }

  // a rewrite is a safe default, or commits the agent to a promise (refund, escalation…) to confirm
  function promiseBadge(promise) {
    const kind = promise && promise !== "none" ? "confirm" : "safe";
    return el("span", { class: `promise promise-${kind}`, "data-promise": promise || "none",
      text: kind === "safe" ? T("promise.safe") : `${T("promise.confirm")}: ${T("promise." + promise)}` });
  }

  // -- live tips: flags and rewrites while the agent types (debounced, over a WebSocket) ----
  function livePage() {
    const input = document.getElementById("live-input");
    const state = document.getElementById("live-status");
    const preview = document.getElementById("live-preview");
    const tips = document.getElementById("live-tips");
    const DEBOUNCE_MS = 150;
    let socket = null;
    let seq = 0;
    let latest = { id: 0, text: "" };
    let timer = null;

    function setState(name) {
      state.dataset.state = name;
      state.textContent = T("live." + name);
    }

    function show(flags, text) {
      preview.replaceChildren(marked(text, flags));
      if (!flags.length) {
        tips.replaceChildren(el("p", { class: "empty", text: text.trim() ? T("live.clean") : T("live.none") }));
        return;
      }
      tips.replaceChildren(...flags.map((f) => el("article", { class: "flag tip", "data-rule": f.rule },
        el("header", {},
          el("span", { class: `cat cat-${f.category}`, text: data.categories[f.category] || f.category }), " ",
          el("q", { class: "span", text: f.text }), " ",
          el("span", { class: "conf", text: f.confidence.toFixed(2) })),
        el("p", { class: "principle", text: f.principle }),
        f.rewrite
          ? el("p", { class: "rewrite" }, el("span", { class: "label", text: T("flag.rewrite") }), " ",
            el("span", { class: "rw", text: f.rewrite }), " ", promiseBadge(f.promise))
          : null,
        f.suggestions.length > 1
          ? el("p", { class: "others", text: `${T("flag.others")}: ${f.suggestions.slice(1).join(" · ")}` })
          : null)));
    }

    function send() {
      const text = input.value;
      latest = { id: ++seq, text };
      if (!text.trim()) return show([], text);
      if (text.length > data.maxChars) {
        tips.replaceChildren(el("p", { class: "error", text: T("live.too_long", { limit: data.maxChars }) }));
        return;
      }
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ id: latest.id, text }));
    }

    function connect() {
      setState("connecting");
      socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${data.liveUrl}`);
      socket.onopen = () => {
        setState("open");
        if (input.value.trim()) send();
      };
      socket.onmessage = (event) => {
        const answer = JSON.parse(event.data);
        if (answer.id !== latest.id) return; // an answer to text the agent has since changed
        if (answer.error) {
          tips.replaceChildren(el("p", { class: "error", text: answer.error.message }));
        } else {
          show(answer.flags, latest.text);
        }
      };
      socket.onclose = (event) => {
        if (event.code === 4401) return setState("unauthorized");
        if (event.code === 4403) return setState("forbidden");
        setState("closed");
        setTimeout(connect, 1000);
      };
    }

    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(send, DEBOUNCE_MS);
    });
    connect();
  }

  const pages = { upload: uploadPage, call: callPage, live: livePage };
  const run = pages[document.body.dataset.page];
  if (run) run();
})();
