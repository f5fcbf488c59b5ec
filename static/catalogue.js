/* CSPA Catalogue: progressive enhancement only. Every page reads and every form posts without this file.
   - search boxes with [data-suggest] become an ARIA 1.2 combobox listing /api/v1/search/suggest answers;
   - [data-tabs] turns its section.panel children into accessible tabs;
   - [data-editor] gets line numbers, and live validation through POST /api/v1/validate with each
     problem's line marked in the gutter and behind the text;
   - a select with [data-switch=NAME] shows only the [data-when-NAME] groups that list its value (the starter
     form's interface and distribution fields); without this file every group shows, each hint says when;
   - [data-copy] buttons (hidden until this file runs) copy the text of the element they name and announce
     "Copied" in the status beside them; without this file the text stays selectable;
   - a form's error summary ([data-error-summary]) takes the focus when the page opens;
   - the search page's facet form ([data-live-facets]) applies a ticked or unticked value at once: the page for
     the new filters is fetched and put in place of the old one, the address changes with it, and focus stays on
     the same checkbox; without this file (or if the fetch fails) the form's "Apply filters" button does it. */
(function () {
  "use strict";

  var counter = 0;
  function uid(prefix) { counter += 1; return prefix + "-" + counter; }

  function debounce(fn, wait) {
    var timer = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, wait);
    };
  }

  /* --- autocomplete combobox ------------------------------------------------------------------ */
  function combobox(input) {
    var url = input.getAttribute("data-suggest");
    var list = document.createElement("ul");
    var status = document.createElement("span");
    var active = -1, options = [], lastQuery = "", request = 0;
    list.id = uid("suggestions");
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    if (!input.parentNode.classList.contains("combo")) {  // the list is positioned against a .combo wrapper
      var wrapper = document.createElement("div");
      wrapper.className = "combo";
      input.parentNode.insertBefore(wrapper, input);
      wrapper.appendChild(input);
    }
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.parentNode.appendChild(list);
    input.parentNode.appendChild(status);

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function highlight(index) {
      options.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }
    function choose(li) {
      if (li.getAttribute("data-kind") === "service") {
        window.location.href = "/services/" + encodeURIComponent(li.getAttribute("data-id"));
        return;
      }
      input.value = li.getAttribute("data-value");
      close();
      if (input.form) { input.form.submit(); }
    }
    function render(items) {
      // An answer that arrives after the reader moved to a suggestion keeps that suggestion chosen, if it is
      // still offered: the arrow keys never lose their place to a slower answer.
      var chosen = active >= 0 ? options[active].getAttribute("data-kind") + "\n" + options[active].getAttribute("data-value") : null;
      list.textContent = "";
      options = items.map(function (item) {
        var li = document.createElement("li");
        var kind = document.createElement("span");
        li.id = uid("option");
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-kind", item.kind);
        li.setAttribute("data-value", item.value);
        if (item.id) { li.setAttribute("data-id", item.id); }
        li.appendChild(document.createTextNode(item.value));
        kind.className = "kind";
        kind.textContent = item.kind === "service" ? "service" : "keyword";
        li.appendChild(kind);
        li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(li); });
        list.appendChild(li);
        return li;
      });
      active = -1;
      if (options.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = options.length + (options.length === 1 ? " suggestion" : " suggestions") +
          ", use the up and down arrows to choose";
        highlight(options.findIndex(function (li) {
          return li.getAttribute("data-kind") + "\n" + li.getAttribute("data-value") === chosen;
        }));
      } else {
        close();
        status.textContent = "";
      }
    }
    var fetchSuggestions = debounce(function () {
      var q = input.value.trim();
      if (q === lastQuery) { return; }
      lastQuery = q;
      if (q.length < 2) { render([]); return; }
      var mine = ++request;
      fetch(url + "?limit=8&q=" + encodeURIComponent(q), {headers: {Accept: "application/json"}})
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (items) { if (mine === request) { render(items || []); } })
        .catch(function () { render([]); });
    }, 150);

    input.addEventListener("input", fetchSuggestions);
    input.addEventListener("blur", function () { setTimeout(close, 100); });
    input.addEventListener("keydown", function (event) {
      if (list.hidden && event.key === "ArrowDown" && options.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
      if (list.hidden) { return; }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight(active + 1 >= options.length ? 0 : active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active <= 0 ? options.length - 1 : active - 1);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(options[active]);
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
  }

  /* --- tabs ------------------------------------------------------------------------------------ */
  function tabs(container) {
    var panels = Array.prototype.filter.call(container.children, function (el) {
      return el.classList.contains("panel");
    });
    if (panels.length < 2) { return; }
    var tablist = document.createElement("div");
    tablist.setAttribute("role", "tablist");
    tablist.setAttribute("aria-label", "Service layers");
    tablist.className = "tablist";
    var buttons = panels.map(function (panel) {
      var heading = panel.querySelector("h2");
      var button = document.createElement("button");
      button.type = "button";
      button.id = "tab-" + panel.id;
      button.className = "tab";
      button.setAttribute("role", "tab");
      button.setAttribute("aria-controls", panel.id);
      button.textContent = heading ? heading.textContent : panel.id;
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", button.id);
      button.addEventListener("click", function () { select(panels.indexOf(panel), true); });
      tablist.appendChild(button);
      return button;
    });
    function select(index, focus) {
      buttons.forEach(function (button, i) {
        var on = i === index;
        button.setAttribute("aria-selected", on ? "true" : "false");
        button.tabIndex = on ? 0 : -1;
        panels[i].hidden = !on;
      });
      if (focus) {
        buttons[index].focus();
        if (history.replaceState) { history.replaceState(null, "", "#" + panels[index].id); }
      }
    }
    tablist.addEventListener("keydown", function (event) {
      var current = buttons.indexOf(document.activeElement), next = null;
      if (event.key === "ArrowRight") { next = (current + 1) % buttons.length; }
      else if (event.key === "ArrowLeft") { next = (current - 1 + buttons.length) % buttons.length; }
      else if (event.key === "Home") { next = 0; }
      else if (event.key === "End") { next = buttons.length - 1; }
      if (next !== null) { event.preventDefault(); select(next, true); }
    });
    function fromHash() {
      var id = decodeURIComponent(window.location.hash.slice(1));
      var target = id && document.getElementById(id);
      var index = 0;
      panels.forEach(function (panel, i) { if (target && (panel === target || panel.contains(target))) { index = i; } });
      select(index, false);
      if (target && target !== panels[index]) { target.scrollIntoView(); }
    }
    container.insertBefore(tablist, container.firstChild);
    container.classList.add("tabbed");
    fromHash();
    window.addEventListener("hashchange", fromHash);
  }

  /* --- descriptor editor with live validation -------------------------------------------------- */
  function editor(box) {
    var textarea = box.querySelector("textarea");
    var gutter = box.querySelector(".gutter");
    var backdrop = box.querySelector(".backdrop");
    var problems = document.getElementById("problems");
    var status = document.getElementById("problems-status");
    var url = textarea.getAttribute("data-validate");
    var errorLines = {}, request = 0;
    box.classList.add("enhanced");

    function lineHeight() { return parseFloat(getComputedStyle(textarea).lineHeight) || 20; }
    function padTop() { return parseFloat(getComputedStyle(textarea).paddingTop) || 0; }

    function paint() {
      var count = textarea.value.split("\n").length;
      var lh = lineHeight(), top = padTop(), html = [];
      gutter.textContent = "";
      backdrop.textContent = "";
      for (var n = 1; n <= count; n++) {
        var div = document.createElement("div");
        div.className = "ln" + (errorLines[n] ? " error-line" : "");
        div.setAttribute("data-line", n);
        div.textContent = n;
        html.push(div);
      }
      html.forEach(function (div) { gutter.appendChild(div); });
      Object.keys(errorLines).forEach(function (n) {
        var band = document.createElement("div");
        band.className = "band";
        band.style.top = (top + (n - 1) * lh) + "px";
        band.style.height = lh + "px";
        backdrop.appendChild(band);
      });
      scroll();
    }
    function scroll() {
      gutter.scrollTop = textarea.scrollTop;
      backdrop.style.transform = "translateY(" + (-textarea.scrollTop) + "px)";
    }
    function goToLine(n) {
      var lines = textarea.value.split("\n"), start = 0;
      for (var i = 0; i < n - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
      textarea.focus({ preventScroll: true });
      textarea.setSelectionRange(start, start + (lines[n - 1] || "").length);
      textarea.scrollTop = Math.max(0, (n - 3) * lineHeight());
      scroll();
      // The textarea may be taller than the window (it grows with its text): bring the line itself into view,
      // a third of the way down the window, not just the caret inside the textarea.
      var box = textarea.getBoundingClientRect();
      var padding = parseFloat(window.getComputedStyle(textarea).paddingTop) || 0;
      var lineTop = box.top + padding + (n - 1) * lineHeight() - textarea.scrollTop;
      window.scrollTo(0, Math.max(0, window.pageYOffset + lineTop - window.innerHeight / 3));
    }
    function show(list, message) {
      errorLines = {};
      problems.textContent = "";
      list.forEach(function (p) {
        var li = document.createElement("li");
        li.className = "problem" + (p.severity === "warning" ? " warning" : "");
        if (p.line) {
          errorLines[p.line] = errorLines[p.line] || p.severity !== "warning";
          li.setAttribute("data-line", p.line);
          var link = document.createElement("a");
          link.href = "#descriptor";
          link.className = "line-link";
          link.setAttribute("data-line", p.line);
          link.textContent = "Line " + p.line;
          li.appendChild(link);
          li.appendChild(document.createTextNode(" "));
        }
        if (p.pointer) {
          var code = document.createElement("code");
          code.className = "pointer";
          code.textContent = p.pointer;
          li.appendChild(code);
          li.appendChild(document.createTextNode(" "));
        }
        var text = document.createElement("span");
        text.className = "message";
        text.textContent = (p.severity === "warning" ? "Warning: " : "") + p.message;
        li.appendChild(text);
        problems.appendChild(li);
      });
      Object.keys(errorLines).forEach(function (n) { if (!errorLines[n]) { delete errorLines[n]; } });
      status.textContent = message;
      paint();
    }
    function format(text) { return /^\s*\{/.test(text) ? "application/json" : "application/yaml"; }

    var validate = debounce(function () {
      var text = textarea.value, mine = ++request;
      if (!text.trim()) { show([], "Paste a descriptor to check it."); return; }
      status.textContent = "Checking…";
      fetch(url, {method: "POST", headers: {"Content-Type": format(text), Accept: "application/json"}, body: text})
        .then(function (response) { return response.json().then(function (body) { return [response.status, body]; }); })
        .then(function (answer) {
          if (mine !== request) { return; }
          var body = answer[1], errors = body.errors || [], warnings = (body.warnings || []).map(function (w) {
            return Object.assign({severity: "warning"}, w);
          });
          if (answer[0] !== 200) {
            show(errors.length ? errors : [{message: body.detail || body.title, line: null}],
                 body.title || "The descriptor could not be read.");
            return;
          }
          var score = body.compliance && !errors.length ? " CSPA compliance " + body.compliance.score + "%." : "";
          show(errors.concat(warnings), errors.length
            ? errors.length + (errors.length === 1 ? " error" : " errors") + " found." + score
            : "No errors: the descriptor is valid." + score);
        })
        .catch(function () { if (mine === request) { status.textContent = "Could not check the descriptor just now."; } });
    }, 400);

    textarea.addEventListener("input", function () { paint(); validate(); });
    textarea.addEventListener("scroll", scroll);
    problems.addEventListener("click", function (event) {
      var link = event.target.closest(".line-link");
      if (link) { event.preventDefault(); goToLine(parseInt(link.getAttribute("data-line"), 10)); }
    });
    var file = document.getElementById("file");
    if (file && window.FileReader) {
      file.addEventListener("change", function () {
        if (!file.files.length) { return; }
        var reader = new FileReader();
        reader.onload = function () { textarea.value = reader.result; paint(); validate(); };
        reader.readAsText(file.files[0]);
      });
    }
    Array.prototype.forEach.call(problems.querySelectorAll("[data-line]"), function (li) {
      var n = parseInt(li.getAttribute("data-line"), 10);
      if (n) { errorLines[n] = true; }
    });
    paint();
    // A descriptor the server has just checked (the form's result) keeps that report until it is edited.
    if (textarea.value.trim() && !problems.children.length && !status.hasAttribute("data-checked")) { validate(); }
  }

  /* --- copy buttons ("Get it" box) ------------------------------------------------------------ */
  function copyButton(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentNode.querySelector("[role=status]");
    if (!source) { return; }
    function announce(text) {
      if (status) { status.textContent = text; }
      button.setAttribute("data-copied", text === "Copied" ? "true" : "false");
    }
    function selectSource() {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { announce("Copied"); }, function () {
          selectSource();
          announce("Selected: press Ctrl+C to copy");
        });
        return;
      }
      // Without the asynchronous clipboard (a page served over plain HTTP), select the text and ask the
      // browser to copy the selection.
      selectSource();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      announce(copied ? "Copied" : "Selected: press Ctrl+C to copy");
    });
  }

  /* --- kind-dependent fields (starter form) ------------------------------------------------------ */
  function switcher(select) {
    var name = select.getAttribute("data-switch");
    var groups = document.querySelectorAll("[data-when-" + name + "]");
    function update() {
      Array.prototype.forEach.call(groups, function (group) {
        var kinds = group.getAttribute("data-when-" + name).split(" ");
        group.hidden = kinds.indexOf(select.value) < 0;
      });
    }
    select.addEventListener("change", update);
    update();
  }

  /* --- facets applied at once (search page) --------------------------------------------------------- */
  var facetStatus = null;
  function announceFacets(text) {
    if (!facetStatus) {
      facetStatus = document.createElement("div");
      facetStatus.className = "visually-hidden";
      facetStatus.setAttribute("role", "status");
      document.body.appendChild(facetStatus);
    }
    facetStatus.textContent = text;
  }
  function escapeValue(value) {
    return window.CSS && CSS.escape ? CSS.escape(value) : value.replace(/["\\]/g, "\\$&");
  }
  function applyFacets(url, name, value) {
    var current = document.querySelector(".search-page");
    if (current) { current.setAttribute("aria-busy", "true"); }
    fetch(url, {headers: {Accept: "text/html"}})
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var page = fresh.querySelector(".search-page");
        current = document.querySelector(".search-page");
        if (!page || !current) { window.location.href = url; return; }
        current.replaceWith(document.importNode(page, true));
        document.title = fresh.title;
        window.history.pushState({facets: true}, "", url);
        shownSearch = window.location.pathname + window.location.search;
        page = document.querySelector(".search-page");
        enhanceSearchPage(page);
        var box = page.querySelector('input[type="checkbox"][name="' + escapeValue(name) + '"][value="' +
          escapeValue(value) + '"]');
        if (box) {
          var folded = box.closest("details");
          if (folded) { folded.open = true; }
          box.focus();
        }
        var total = page.querySelector(".results-bar .total");
        announceFacets(total ? total.textContent : "Filters applied");
      })
      .catch(function () { window.location.href = url; });
  }
  function liveFacets(form) {
    var button = form.querySelector('.facet-actions button[type="submit"]');
    if (button) { button.hidden = true; }
    form.addEventListener("change", function (event) {
      var box = event.target;
      if (!box || box.type !== "checkbox") { return; }
      var query = new URLSearchParams(new FormData(form)).toString();
      applyFacets(form.getAttribute("action") + (query ? "?" + query : ""), box.name, box.value);
    });
  }
  function enhanceSearchPage(root) {
    Array.prototype.forEach.call(root.querySelectorAll("input[data-suggest]"), combobox);
    Array.prototype.forEach.call(root.querySelectorAll("form[data-live-facets]"), liveFacets);
  }
  var shownSearch = window.location.pathname + window.location.search;
  window.addEventListener("popstate", function () {
    // Back or forward to another filter state loads that page (a move to a #fragment of this one does not).
    if (document.querySelector("form[data-live-facets]") &&
        window.location.pathname + window.location.search !== shownSearch) {
      window.location.reload();
    }
  });

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest]"), combobox);
    Array.prototype.forEach.call(document.querySelectorAll("[data-tabs]"), tabs);
    Array.prototype.forEach.call(document.querySelectorAll("[data-editor]"), editor);
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), copyButton);
    Array.prototype.forEach.call(document.querySelectorAll("select[data-switch]"), switcher);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-live-facets]"), liveFacets);
    // A form's errors are summarised at the top (WCAG 3.3.1): move focus there, so it is read out first.
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); summary.scrollIntoView({ block: "start" }); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
