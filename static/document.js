// The CSPA 2.0 document, enhanced. Every page works without this file: the reading-level switch and the
// GSBPM figure are plain links the server answers. Here we switch levels in place, remember the level
// (localStorage; the server keeps a cookie), keep it in the URL, highlight the table of contents while
// reading, show glossary definitions on hover, focus or tap, and expand the figure in place.
(function () {
  "use strict";

  var LEVELS = ["overview", "architect", "builder", "all"];
  var STORE = "cspa-document-level";

  function stored() {
    try { return localStorage.getItem(STORE); } catch (e) { return null; }
  }

  function store(level) {
    try { localStorage.setItem(STORE, level); } catch (e) { /* private mode: the cookie still remembers */ }
  }

  function withLevel(href, level) {
    var url = new URL(href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname.indexOf("/document") !== 0) { return href; }
    url.searchParams.set("level", level);
    return url.pathname + url.search + url.hash;
  }

  // --- reading level -------------------------------------------------------------------------------
  var body = document.querySelector(".doc-body");
  var sections = body ? body.querySelectorAll("section[class*='audience-']") : [];

  function applyLevel(level) {
    var shown = 0;
    Array.prototype.forEach.call(sections, function (section) {
      var hide = level !== "all" && !section.classList.contains("audience-" + level);
      section.hidden = hide;
      if (!hide) { shown += 1; }
    });
    document.querySelectorAll(".doc-toc li[data-audiences]").forEach(function (item) {
      item.hidden = level !== "all" && item.getAttribute("data-audiences").split(" ").indexOf(level) < 0;
    });
    var empty = document.querySelector(".level-empty");
    if (empty) { empty.hidden = shown > 0; }
    document.querySelectorAll(".level-switch a[data-level]").forEach(function (link) {
      if (link.getAttribute("data-level") === level) { link.setAttribute("aria-current", "true"); }
      else { link.removeAttribute("aria-current"); }
    });
    var doc = document.querySelector(".doc[data-level]");
    if (doc) { doc.setAttribute("data-level", level); }
    // Links to other chapters carry the level, so the server renders (and remembers) the same choice.
    document.querySelectorAll(".doc-pager a, .doc-breadcrumb a, .doc-places a, .doc-chapters a").forEach(function (link) {
      link.setAttribute("href", withLevel(link.getAttribute("href"), level));
    });
    var url = new URL(window.location.href);
    url.searchParams.set("level", level);
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  }

  if (sections.length) {
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-level]");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
      event.preventDefault();
      var level = link.getAttribute("data-level");
      store(level);
      applyLevel(level);
    });
    var asked = new URL(window.location.href).searchParams.get("level");
    var remembered = stored();
    var current = document.querySelector(".doc[data-level]").getAttribute("data-level");
    if (LEVELS.indexOf(asked) >= 0) { store(asked); }
    else if (LEVELS.indexOf(remembered) >= 0 && remembered !== current) { applyLevel(remembered); }
    else if (current !== "all") { applyLevel(current); }
  } else {
    // Pages without sections (contents, figure): the server answers the level links; remember the choice.
    document.querySelectorAll(".level-switch a[data-level]").forEach(function (link) {
      link.addEventListener("click", function () { store(link.getAttribute("data-level")); });
    });
  }

  // --- the table of contents follows the reader -------------------------------------------------
  var tocLinks = document.querySelectorAll(".doc-toc a[href^='#']");
  if (tocLinks.length && "IntersectionObserver" in window) {
    var targets = [];
    tocLinks.forEach(function (link) {
      var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
      if (target) { targets.push({ link: link, target: target }); }
    });

    // The current section is the last one whose top has reached the top band of the window; at the
    // very end of the page, the last one shown (a short final section never reaches the top).
    function highlight() {
      var shown = targets.filter(function (t) { return !t.target.hidden; });
      if (!shown.length) { return; }
      var line = Math.min(96, window.innerHeight / 5);
      var current = shown[0];
      shown.forEach(function (t) { if (t.target.getBoundingClientRect().top <= line) { current = t; } });
      if (window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 2) {
        current = shown.filter(function (t) { return t.target.getBoundingClientRect().top < window.innerHeight; }).pop() || current;
      }
      targets.forEach(function (t) {
        t.link.classList.toggle("is-current", t === current);
        if (t === current) { t.link.setAttribute("aria-current", "location"); } else { t.link.removeAttribute("aria-current"); }
      });
    }

    var observer = new IntersectionObserver(highlight, { threshold: [0, 0.25, 0.5, 0.75, 1] });
    targets.forEach(function (t) { observer.observe(t.target); });
  }

  // --- glossary terms: definition on hover or focus, first tap on a touch screen --------------------
  var lastPointer = "mouse";
  document.addEventListener("pointerdown", function (event) { lastPointer = event.pointerType; }, true);
  var openTip = null;

  function hideTip() {
    if (openTip) {
      openTip.tip.hidden = true;
      openTip.tapped = false;
      openTip.link.setAttribute("aria-expanded", "false");
      openTip = null;
    }
  }

  document.querySelectorAll("a.ref-term[title]").forEach(function (link, index) {
    var wrapper = document.createElement("span");
    wrapper.className = "term-wrap";
    var tip = document.createElement("span");
    tip.className = "term-tip";
    tip.id = "term-tip-" + index;
    tip.setAttribute("role", "tooltip");
    tip.hidden = true;
    tip.textContent = link.getAttribute("title");
    // The title would show a second, unstyled tooltip: the definition now lives in the tooltip element.
    link.removeAttribute("title");
    link.setAttribute("aria-describedby", tip.id);
    link.parentNode.insertBefore(wrapper, link);
    wrapper.appendChild(link);
    wrapper.appendChild(tip);
    var entry = { link: link, tip: tip, tapped: false };

    function show() {
      if (openTip && openTip !== entry) { hideTip(); }
      tip.hidden = false;
      openTip = entry;
    }
    link.addEventListener("mouseenter", show);
    link.addEventListener("focus", show);
    wrapper.addEventListener("mouseleave", function () { if (lastPointer !== "touch") { hideTip(); } });
    link.addEventListener("blur", function () { if (lastPointer !== "touch") { hideTip(); } });
    link.addEventListener("click", function (event) {
      // On a touch screen the first tap shows the definition; a second tap follows the link. (A tap
      // also fires mouseenter and focus, so whether the tip shows says nothing about earlier taps.)
      if (lastPointer === "touch" && !entry.tapped) {
        event.preventDefault();
        show();
        entry.tapped = true;
        link.setAttribute("aria-expanded", "true");
      }
    });
  });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape") { hideTip(); } });
  document.addEventListener("click", function (event) {
    if (openTip && !openTip.link.parentNode.contains(event.target)) { hideTip(); }
  });

  // --- the GSBPM figure expands in place -----------------------------------------------------------
  var figure = document.querySelector(".gsbpm-figure");
  if (figure && window.fetch && window.DOMParser) {
    figure.querySelectorAll(".gsbpm-sp-link").forEach(function (link) {
      var item = link.parentNode;
      link.setAttribute("aria-expanded", item.querySelector(".gsbpm-detail") ? "true" : "false");
      link.setAttribute("aria-controls", "sp-detail-" + item.getAttribute("data-code"));
    });

    function collapse(item) {
      var detail = item.querySelector(".gsbpm-detail");
      if (detail) { detail.remove(); }
      item.classList.remove("is-selected");
      var link = item.querySelector(".gsbpm-sp-link");
      link.setAttribute("aria-expanded", "false");
      link.removeAttribute("aria-current");
    }

    figure.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest(".gsbpm-sp-link");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
      event.preventDefault();
      var item = link.parentNode;
      var code = item.getAttribute("data-code");
      if (item.querySelector(".gsbpm-detail")) {
        collapse(item);
        history.replaceState(history.state, "", window.location.pathname);
        return;
      }
      item.setAttribute("aria-busy", "true");
      fetch(link.getAttribute("href"), { headers: { "Accept": "text/html" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.text();
        })
        .then(function (text) {
          var page = new DOMParser().parseFromString(text, "text/html");
          var detail = page.getElementById("sp-detail-" + code);
          if (!detail) { throw new Error("no detail"); }
          figure.querySelectorAll(".gsbpm-sp.is-selected").forEach(collapse);
          item.appendChild(document.importNode(detail, true));
          item.classList.add("is-selected");
          link.setAttribute("aria-expanded", "true");
          link.setAttribute("aria-current", "true");
          history.replaceState(history.state, "", link.getAttribute("href"));
        })
        .catch(function () { window.location.href = link.getAttribute("href"); })
        .then(function () { item.removeAttribute("aria-busy"); });
    });
  }
})();
