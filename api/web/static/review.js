// 话术 Huashu: the review workflow in the pages (issue #15). The call page: jump through the
// flags (buttons and keys: j/n next, k/p previous, c confirm, x dismiss), add a missed trigger by
// selecting text in an agent turn, mark the call reviewed (Esc leaves a reason or comment field), dispute a flag (agents); the dispute
// queue: uphold or overturn. Everything is written through the /v1 endpoints (api/routes/review.py).
(() => {
  "use strict";
  const { data, csrf, T } = window.huashuPage;  // app.js, loaded first (both deferred, in order)

  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body),
    });
    const answer = await r.json().catch(() => null);
    if (!r.ok) {
      const message = answer && answer.error && answer.error.message;
      throw new Error(message || T("error.http", { status: r.status }));
    }
    return answer;
  }

  function say(node, text, error) {
    if (!node) return;
    node.textContent = text;
    node.classList.toggle("error", Boolean(error));
  }

  // Reload the page, at an anchor (the browser would not reload for a hash change alone).
  function reloadAt(hash) {
    history.replaceState(null, "", location.pathname + location.search + (hash ? "#" + hash : ""));
    location.reload();
  }

  // -- flag navigation ----------------------------------------------------------------------
  function flagNavigation() {
    const links = Array.from(document.querySelectorAll("#flag-summary a.jump"))
      .sort((a, b) => Number(a.dataset.n) - Number(b.dataset.n));
    const pos = document.getElementById("flag-pos");
    if (!links.length || !pos) return null;
    let current = -1;

    function card(i) {
      return document.getElementById("flag-" + links[i].dataset.flagId);
    }

    function go(i) {
      if (i < 0 || i >= links.length) return;
      if (links[i].dataset.here !== "yes") { // on another page of turns
        location.href = links[i].getAttribute("href");
        return;
      }
      const before = current >= 0 ? card(current) : null;
      if (before) before.classList.remove("current");
      links.forEach((a) => a.classList.remove("current"));
      current = i;
      const target = card(i);
      target.classList.add("current");
      const id = links[i].dataset.flagId;
      for (const m of document.querySelectorAll("mark[data-flags]")) { // its words in the turn too
        m.classList.toggle("current", m.dataset.flags.split(" ").includes(id));
      }
      links[i].classList.add("current");
      target.setAttribute("tabindex", "-1");
      target.scrollIntoView({ block: "center" });
      target.focus({ preventScroll: true });
      history.replaceState(null, "", "#flag-" + links[i].dataset.flagId);
      pos.textContent = T("review.pos", { n: i + 1, total: links.length });
    }

    document.getElementById("flag-next").addEventListener("click", () => go(current + 1));
    document.getElementById("flag-prev").addEventListener("click", () => go(Math.max(0, current - 1)));
    for (const [i, a] of links.entries()) {
      if (a.dataset.here === "yes") a.addEventListener("click", (e) => { e.preventDefault(); go(i); });
    }
    const start = links.findIndex((a) => location.hash === "#flag-" + a.dataset.flagId);
    if (start >= 0) go(start);

    document.addEventListener("keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const tag = (e.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select" || e.target.isContentEditable) {
        if (e.key === "Escape") e.target.blur(); // back to the keys: Esc, then c or x
        return;
      }
      const key = e.key.toLowerCase();
      if (key === "j" || key === "n") go(current + 1);
      else if (key === "k" || key === "p") go(current < 0 ? 0 : current - 1);
      else if ((key === "c" || key === "x") && current >= 0) {
        const button = card(current).querySelector(key === "c" ? "button.confirm" : "button.dismiss");
        if (button) button.click();
        else return;
      } else return;
      e.preventDefault();
    });
    return go;
  }

  // -- the call's status ----------------------------------------------------------------------
  function statusButtons(callId) {
    for (const button of document.querySelectorAll("button.status-btn")) {
      button.addEventListener("click", async () => {
        const msg = document.getElementById("status-msg");
        button.disabled = true;
        say(msg, T("verdict.saving"));
        try {
          await post(`/v1/transcripts/${encodeURIComponent(callId)}/status`, { status: button.dataset.status });
          reloadAt("review");
        } catch (err) {
          say(msg, err.message, true);
          button.disabled = false;
        }
      });
    }
  }

  // -- a missed trigger: select text in an agent turn ----------------------------------------
  // Offsets count code points (like Python), so an emoji before the selection counts once.
  function codePoints(text) {
    return Array.from(text).length;
  }

  function offsetIn(root, node, offset) {
    const range = document.createRange();
    range.setStart(root, 0);
    range.setEnd(node, offset);
    return codePoints(range.toString());
  }

  function addFlag(callId) {
    const panel = document.getElementById("add-flag");
    if (!panel) return;
    const shown = document.getElementById("add-flag-text");
    const status = document.getElementById("add-flag-status");
    let picked = null;

    document.addEventListener("mouseup", () => {
      const sel = window.getSelection();
      if (!sel || sel.isCollapsed || !sel.rangeCount) return;
      const range = sel.getRangeAt(0);
      const text = range.startContainer.parentElement && range.startContainer.parentElement.closest(".turn.agent p.text");
      const endText = range.endContainer.parentElement && range.endContainer.parentElement.closest(".turn.agent p.text");
      const inText = (node) => (node.nodeType === 1 ? node.closest(".turn.agent p.text") : null);
      const root = text || inText(range.startContainer);
      if (!root || root !== (endText || inText(range.endContainer))) return;
      const start = offsetIn(root, range.startContainer, range.startOffset);
      const end = offsetIn(root, range.endContainer, range.endOffset);
      if (end <= start) return;
      const turn = Number(root.closest(".turn").id.replace("turn-", ""));
      picked = { turn, start, end };
      shown.textContent = Array.from(root.textContent).slice(start, end).join("");
      say(status, "");
      panel.hidden = false;
    });

    document.getElementById("add-flag-cancel").addEventListener("click", () => {
      panel.hidden = true;
      picked = null;
    });
    document.getElementById("add-flag-save").addEventListener("click", async () => {
      if (!picked) return;
      const save = document.getElementById("add-flag-save");
      save.disabled = true;
      say(status, T("verdict.saving"));
      try {
        const note = document.getElementById("add-flag-note").value.trim();
        const flag = await post(`/v1/transcripts/${encodeURIComponent(callId)}/turns/${picked.turn}/flags`, {
          start: picked.start, end: picked.end, category: document.getElementById("add-flag-category").value,
          note: note || null,
        });
        reloadAt("flag-" + flag.id);
      } catch (err) {
        say(status, err.message, true);
        save.disabled = false;
      }
    });
  }

  // -- an agent disputes a flag ---------------------------------------------------------------
  function disputeForms() {
    for (const box of document.querySelectorAll(".dispute-box")) {
      const card = box.closest("article.flag");
      const form = box.querySelector("form.dispute-form");
      box.querySelector("button.dispute-btn").addEventListener("click", () => {
        form.hidden = false;
        form.querySelector("textarea").focus();
      });
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const status = form.querySelector(".status");
        const comment = form.querySelector("textarea").value.trim();
        if (!comment) return say(status, T("dispute.empty"), true);
        const send = form.querySelector("button[type=submit]");
        send.disabled = true; // one dispute per click
        say(status, T("verdict.saving"));
        try {
          await post(`/v1/flags/${encodeURIComponent(card.dataset.flagId)}/disputes`, { comment });
          reloadAt("flag-" + card.dataset.flagId);
        } catch (err) {
          say(status, err.message, true);
          send.disabled = false;
        }
      });
    }
  }

  // -- the supervisor decides a dispute -------------------------------------------------------
  function disputeQueue() {
    for (const row of document.querySelectorAll("article.dispute-item")) {
      const status = row.querySelector(".status");
      for (const button of row.querySelectorAll("button[data-decision]")) {
        button.addEventListener("click", async () => {
          row.querySelectorAll("button").forEach((b) => { b.disabled = true; });
          say(status, T("verdict.saving"));
          try {
            const note = row.querySelector("textarea.decision-note").value.trim();
            await post(`/v1/disputes/${encodeURIComponent(row.dataset.disputeId)}/decision`,
              { decision: button.dataset.decision, note: note || null });
            reloadAt("");
          } catch (err) {
            say(status, err.message, true);
            row.querySelectorAll("button").forEach((b) => { b.disabled = false; });
          }
        });
      }
    }
  }

  const page = document.body.dataset.page;
  if (page === "call") {
    const review = document.getElementById("review");
    if (!review) return;
    flagNavigation();
    statusButtons(review.dataset.callId);
    addFlag(review.dataset.callId);
    disputeForms();
  } else if (page === "disputes") {
    disputeQueue();
  }
})();
