// dsms: small enhancements for people working all day in the desk. Every page works without this
// file; it only saves time: SLA countdowns that tick, queues that refresh themselves, and keyboard
// shortcuts (press ? for the list; they can be switched off there, as WCAG 2.1.4 asks).
(function () {
  "use strict";

  // Same wording as the server's badges (crates/web/src/labels.rs): "2 h 5 min", "2 d 3 h".
  function span(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days > 0) return days + " d " + hours + " h";
    if (hours > 0) return hours + " h " + mins + " min";
    return mins + " min";
  }

  function tickCountdowns(root) {
    var now = Date.now();
    var badges = (root || document).querySelectorAll(".sla[data-due]");
    for (var i = 0; i < badges.length; i++) {
      var badge = badges[i];
      var due = Date.parse(badge.getAttribute("data-due"));
      if (isNaN(due)) continue;
      var left = due - now;
      if (left > 0) {
        badge.textContent = span(left) + " left";
      } else {
        badge.textContent = "Breached " + span(left) + " ago";
        badge.classList.remove("sla-ok", "sla-risk");
        badge.classList.add("sla-breached");
      }
    }
  }

  var announcer = null;
  function announce(text) {
    if (!announcer) {
      announcer = document.createElement("p");
      announcer.className = "visually-hidden";
      announcer.setAttribute("role", "status");
      announcer.setAttribute("aria-live", "polite");
      document.body.appendChild(announcer);
    }
    announcer.textContent = text;
  }

  // A queue table marked data-refresh="SECONDS" is fetched again in the background and its rows
  // replaced, unless the person is in the middle of something on it: a ticked row, focus inside
  // its form, or the tab hidden.
  function liveQueue() {
    var table = document.querySelector("table[data-refresh]");
    if (!table) return null;
    var seconds = parseInt(table.getAttribute("data-refresh"), 10);
    var form = table.closest("form");
    function busy() {
      if (document.hidden) return true;
      if (form && form.querySelector("input[type=checkbox]:checked")) return true;
      return !!(form && form.contains(document.activeElement) && document.activeElement !== document.body);
    }
    function refresh(force) {
      if (!force && busy()) return;
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok || response.redirected) throw new Error("not refreshed");
          return response.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("table[data-refresh]");
          if (!fresh || (!force && busy())) return;
          var current = document.querySelector("table[data-refresh]");
          current.tBodies[0].replaceWith(fresh.tBodies[0]);
          if (current.caption && fresh.caption) current.caption.textContent = fresh.caption.textContent;
          tickCountdowns(current);
          selected = -1;
          announce("Queue refreshed at " + new Date().toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }));
        })
        .catch(function () {
          // A failed refresh leaves the rows as they were; the next one tries again.
        });
    }
    if (seconds > 0) window.setInterval(refresh, seconds * 1000);
    return refresh;
  }

  var selected = -1;
  function rows() {
    return document.querySelectorAll("table.queue tbody tr");
  }
  function select(step) {
    var all = rows();
    if (!all.length) return;
    if (selected >= 0 && all[selected]) all[selected].classList.remove("row-current");
    selected = Math.max(0, Math.min(all.length - 1, selected + step));
    var row = all[selected];
    row.classList.add("row-current");
    var link = row.querySelector("a");
    if (link) link.focus();
  }

  var STORE = "dsms.shortcuts";
  function shortcutsOn() {
    try {
      return window.localStorage.getItem(STORE) !== "off";
    } catch (e) {
      return true;
    }
  }

  var help = null;
  function toggleHelp() {
    if (!help) {
      help = document.createElement("dialog");
      help.className = "shortcuts";
      help.setAttribute("aria-labelledby", "shortcuts-title");
      help.innerHTML =
        '<h2 id="shortcuts-title">Keyboard shortcuts</h2>' +
        "<dl>" +
        "<dt><kbd>/</kbd></dt><dd>Search or filter</dd>" +
        "<dt><kbd>j</kbd> / <kbd>k</kbd></dt><dd>Next / previous incident in a queue</dd>" +
        "<dt><kbd>x</kbd></dt><dd>Tick the current incident for a bulk change</dd>" +
        "<dt><kbd>Enter</kbd></dt><dd>Open the current incident</dd>" +
        "<dt><kbd>r</kbd></dt><dd>Refresh the queue now</dd>" +
        "<dt><kbd>?</kbd></dt><dd>Show or hide this list</dd>" +
        "</dl>" +
        '<p><label><input type="checkbox" id="shortcuts-on"> Use single-key shortcuts</label></p>' +
        '<p><button type="button" id="shortcuts-close">Close</button></p>';
      document.body.appendChild(help);
      var box = help.querySelector("#shortcuts-on");
      box.checked = shortcutsOn();
      box.addEventListener("change", function () {
        try {
          window.localStorage.setItem(STORE, box.checked ? "on" : "off");
        } catch (e) {
          // Private browsing without storage: the choice lasts for this page only.
        }
      });
      help.querySelector("#shortcuts-close").addEventListener("click", function () {
        help.close();
      });
    }
    if (help.open) help.close();
    else help.showModal();
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("DOMContentLoaded", function () {
    tickCountdowns(document);
    window.setInterval(function () {
      tickCountdowns(document);
    }, 30000);
    var refresh = liveQueue();

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      if (event.key === "?") {
        event.preventDefault();
        toggleHelp();
        return;
      }
      if (!shortcutsOn() || (help && help.open)) return;
      switch (event.key) {
        case "/": {
          var search = document.querySelector("input[type=search], input[name=q]");
          if (search) {
            event.preventDefault();
            search.focus();
          }
          break;
        }
        case "j":
          select(1);
          break;
        case "k":
          select(-1);
          break;
        case "x": {
          var row = rows()[selected];
          var box = row && row.querySelector("input[type=checkbox]");
          if (box) box.checked = !box.checked;
          break;
        }
        case "r":
          if (refresh) refresh(true);
          break;
        default:
          break;
      }
    });
  });
})();
