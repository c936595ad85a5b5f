/* Heliograph status embed. Include it on any site:
 *
 *   <script src="https://status.example.com/embed.js" async></script>
 *
 * and, to choose where it shows, add <div data-heliograph></div> (otherwise it goes
 * right after the script tag). It shows the page's status as a small badge linking
 * to the status page and, while an incident is open or a maintenance is in progress,
 * a notice with its latest update that visitors can dismiss.
 *
 * It reads only <the script's folder>/api/v2/summary.json, sets no cookie, sends no
 * credentials and puts text from the API into the page with textContent only. Its
 * one global is window.HeliographEmbed. A site with a Content-Security-Policy allows
 * the status page's origin in script-src and connect-src.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src || !window.fetch || !window.URL) {
    return;
  }
  var base = new URL(".", script.src).href;
  var registry = (window.HeliographEmbed = window.HeliographEmbed || { pages: {} });
  if (registry.pages[base]) {
    return; // included twice
  }

  var P = "heliograph-embed";
  var REFRESH_MS = 60000;
  var MAX_NOTICES = 3;
  var MAX_BODY = 280;
  var LABELS = {
    investigating: "Investigating",
    identified: "Identified",
    monitoring: "Monitoring",
    in_progress: "Maintenance in progress",
    verifying: "Verifying maintenance",
  };
  var TONES = ["none", "minor", "major", "critical", "maintenance"];
  var CSS = [
    "." + P + "{display:block;margin:.5rem 0;font:14px/1.45 system-ui,-apple-system," +
      "'Segoe UI',Roboto,Arial,sans-serif;color:#1f2933;text-align:left}",
    "." + P + " *{box-sizing:border-box}",
    "." + P + "__badge{display:inline-flex;align-items:center;gap:.45em;padding:.2em .75em;" +
      "border:1px solid #d9dee4;border-radius:999px;background:#fff;color:#1f2933;" +
      "font-weight:600;text-decoration:none}",
    "." + P + "__badge:hover{border-color:currentColor}",
    "." + P + "__badge:focus-visible," + "." + P + "__close:focus-visible," +
      "." + P + "__notice a:focus-visible{outline:3px solid #0b5cad;outline-offset:2px}",
    "." + P + "__dot{flex:none;width:.7em;height:.7em;border-radius:50%;background:var(--" +
      P + "-tone)}",
    "." + P + "__notice{position:relative;max-width:32rem;margin:.5rem 0 0;" +
      "padding:.6rem 2.25rem .6rem .85rem;border:1px solid #d9dee4;border-left:4px solid " +
      "var(--" + P + "-tone);border-radius:6px;background:#fff;" +
      "box-shadow:0 1px 3px rgba(0,0,0,.12);animation:" + P + "-in .25s ease-out}",
    "." + P + "__notice p{margin:0 0 .25rem;padding:0}",
    "." + P + "__notice p:last-child{margin:0}",
    "." + P + "__title{font-weight:700}",
    "." + P + "__title a{color:#0b5cad}",
    "." + P + "__meta{color:#52606d;font-size:.85em}",
    "." + P + "__close{position:absolute;top:.35rem;right:.35rem;width:1.75rem;" +
      "height:1.75rem;padding:0;border:0;border-radius:4px;background:transparent;" +
      "color:#52606d;font:inherit;font-size:1.2em;line-height:1;cursor:pointer}",
    "." + P + "__close:hover{background:#f6f8fa;color:#1f2933}",
    "." + P + "--none{--" + P + "-tone:#137333}",
    "." + P + "--minor{--" + P + "-tone:#786100}",
    "." + P + "--major{--" + P + "-tone:#c2410c}",
    "." + P + "--critical{--" + P + "-tone:#9b1c1c}",
    "." + P + "--maintenance{--" + P + "-tone:#1d4ed8}",
    "." + P + "--unknown{--" + P + "-tone:#52606d}",
    "@keyframes " + P + "-in{from{opacity:0;transform:translateY(-.25rem)}" +
      "to{opacity:1;transform:none}}",
    "@media (prefers-reduced-motion:reduce){." + P + "__notice{animation:none}}",
    // Dark mode follows the visitor's setting, with public.css's dark colours.
    "@media (prefers-color-scheme:dark){" +
      "." + P + "{color:#e6e9ed}" +
      "." + P + "__badge,." + P + "__notice{background:#1b2128;color:#e6e9ed;" +
      "border-color:#3a4450}" +
      "." + P + "__notice{border-left-color:var(--" + P + "-tone)}" +
      "." + P + "__title a{color:#8ab4f8}" +
      "." + P + "__badge:focus-visible,." + P + "__close:focus-visible," +
      "." + P + "__notice a:focus-visible{outline-color:#8ab4f8}" +
      "." + P + "__meta,." + P + "__close{color:#a7b1bc}" +
      "." + P + "__close:hover{background:#12161b;color:#e6e9ed}" +
      "." + P + "--none{--" + P + "-tone:#4ade80}" +
      "." + P + "--minor{--" + P + "-tone:#facc15}" +
      "." + P + "--major{--" + P + "-tone:#fb923c}" +
      "." + P + "--critical{--" + P + "-tone:#ff8a8a}" +
      "." + P + "--maintenance{--" + P + "-tone:#93c5fd}" +
      "." + P + "--unknown{--" + P + "-tone:#a7b1bc}}",
  ];

  var containers = [];
  var shown = "";
  var dismissed = {};

  function injectStyle() {
    if (document.getElementById(P + "-style")) {
      return;
    }
    var style = document.createElement("style");
    style.id = P + "-style";
    (document.head || document.documentElement).appendChild(style);
    // Rules added through the CSSOM pass a host page's CSP that forbids inline styles.
    for (var i = 0; i < CSS.length; i++) {
      try {
        style.sheet.insertRule(CSS[i], style.sheet.cssRules.length);
      } catch (error) {
        // A browser without one feature (say, custom properties) skips that rule.
      }
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = P + "__" + className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function link(href, text, className) {
    var a = el("a", className, text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener";
    return a;
  }

  function fill(container, nodes) {
    while (container.firstChild) {
      container.removeChild(container.firstChild);
    }
    nodes.forEach(function (node) {
      container.appendChild(node);
    });
  }

  function tone(value) {
    return TONES.indexOf(value) >= 0 ? value : "unknown";
  }

  function plain(markdown) {
    var text = String(markdown || "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/(\*\*|__|`)/g, "")
      .replace(/^\s*(#+|>|[-*+])\s+/gm, "")
      .replace(/\s+/g, " ")
      .trim();
    return text.length > MAX_BODY ? text.slice(0, MAX_BODY - 1) + "\u2026" : text;
  }

  function when(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) {
      return "";
    }
    try {
      return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    } catch (error) {
      return date.toLocaleString();
    }
  }

  function remember(key) {
    dismissed[key] = true;
    try {
      window.sessionStorage.setItem(P + ":" + key, "1");
    } catch (error) {
      // Storage may be off: the notice then stays dismissed until the next page.
    }
  }

  function isDismissed(key) {
    if (dismissed[key]) {
      return true;
    }
    try {
      return window.sessionStorage.getItem(P + ":" + key) === "1";
    } catch (error) {
      return false;
    }
  }

  function happening(summary) {
    var items = (summary.incidents || []).slice();
    (summary.scheduled_maintenances || []).forEach(function (maintenance) {
      if (maintenance.status === "in_progress" || maintenance.status === "verifying") {
        items.push(maintenance);
      }
    });
    return items.filter(function (item) {
      return !isDismissed(key(item));
    });
  }

  function key(item) {
    var latest = (item.incident_updates || [])[0];
    return String(item.id) + ":" + (latest ? String(latest.id) : "");
  }

  function incidentUrl(item) {
    return /^[a-z0-9]+$/.test(String(item.id))
      ? new URL("incidents/" + item.id, base).href
      : base;
  }

  function notice(item, badge) {
    var latest = (item.incident_updates || [])[0];
    var box = el("div", "notice");
    // An incident without impact gets a neutral tone, not the all-good green.
    box.classList.add(P + "--" + (item.impact === "none" ? "unknown" : tone(item.impact)));
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Status notice");
    var title = el("p", "title");
    title.appendChild(link(incidentUrl(item), String(item.name || "")));
    box.appendChild(title);
    var status = LABELS[item.status] || String(item.status || "").replace(/_/g, " ");
    var updated = latest ? when(latest.display_at || latest.created_at) : "";
    box.appendChild(el("p", "meta", status + (updated ? " \u00b7 " + updated : "")));
    if (latest && latest.body) {
      box.appendChild(el("p", "body", plain(latest.body)));
    }
    var close = el("button", "close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss notice: " + String(item.name || ""));
    close.addEventListener("click", function () {
      remember(key(item));
      box.parentNode.removeChild(box);
      badge.focus();
    });
    box.appendChild(close);
    return box;
  }

  function render(container, summary) {
    var page = summary.page || {};
    var status = summary.status || {};
    var description = String(status.description || "View status page");
    var badge = link(base, "", "badge");
    badge.classList.add(P + "--" + tone(status.indicator));
    badge.setAttribute("aria-label", String(page.name || "Status") + " status: " + description);
    badge.appendChild(el("span", "dot")).setAttribute("aria-hidden", "true");
    badge.appendChild(el("span", "text", description));
    var live = el("div", "notices");
    live.setAttribute("aria-live", "polite");
    var items = happening(summary);
    items.slice(0, MAX_NOTICES).forEach(function (item) {
      live.appendChild(notice(item, badge));
    });
    if (items.length > MAX_NOTICES) {
      var more = el("p", "meta");
      more.appendChild(link(base, "More on the status page"));
      live.appendChild(more);
    }
    fill(container, [badge, live]);
  }

  function unavailable(container) {
    var badge = link(base, "", "badge");
    badge.classList.add(P + "--unknown");
    badge.appendChild(el("span", "dot")).setAttribute("aria-hidden", "true");
    badge.appendChild(el("span", "text", "View status page"));
    fill(container, [badge]);
  }

  function signature(summary) {
    var items = happening(summary).map(key);
    return JSON.stringify([summary.page && summary.page.name, summary.status, items]);
  }

  function refresh() {
    return fetch(new URL("api/v2/summary.json", base).href, {
      credentials: "omit",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (summary) {
        var now = signature(summary);
        if (now !== shown) {
          shown = now;
          containers.forEach(function (container) {
            render(container, summary);
          });
        }
      })
      .catch(function () {
        if (shown === "") {
          containers.forEach(unavailable);
        }
      });
  }

  function wanted(node) {
    var value = node.getAttribute("data-heliograph");
    if (!value) {
      return true;
    }
    try {
      return new URL(value, document.baseURI).href === base;
    } catch (error) {
      return false;
    }
  }

  function start() {
    var marked = document.querySelectorAll("[data-heliograph]");
    for (var i = 0; i < marked.length; i++) {
      if (wanted(marked[i])) {
        containers.push(marked[i]);
      }
    }
    if (containers.length === 0) {
      var container = document.createElement("div");
      if (script.parentNode && document.body && document.body.contains(script)) {
        script.parentNode.insertBefore(container, script.nextSibling);
      } else if (document.body) {
        document.body.appendChild(container);
      } else {
        return;
      }
      containers.push(container);
    }
    containers.forEach(function (container) {
      container.classList.add(P);
    });
    injectStyle();
    refresh();
    window.setInterval(function () {
      if (!document.hidden) {
        refresh();
      }
    }, REFRESH_MS);
  }

  registry.pages[base] = { refresh: refresh };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
