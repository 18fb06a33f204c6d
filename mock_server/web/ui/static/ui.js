// Live regions: every element with data-live="URL" is refilled from URL (the same
// page's ?partial= rendering) every second, while the tab is visible. A region is
// only replaced when its HTML changed, so focus, open details and loaded images
// survive quiet seconds.
(function () {
  "use strict";
  var PERIOD_MS = 1000;
  var regions = Array.prototype.slice.call(document.querySelectorAll("[data-live]"));
  if (!regions.length) { return; }
  var busy = false;

  function refill(region) {
    return fetch(region.getAttribute("data-live"), {
      credentials: "same-origin", headers: { "Accept": "text/html" }, cache: "no-store"
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null) { return; }
      if (!same(region, html)) { region.innerHTML = html; }
      region.setAttribute("data-html", html);
    });
  }

  // Whether `html` is what the region shows: the last fragment fetched, or at first
  // what the page was served with (both serialized by the browser, to compare alike).
  function same(region, html) {
    var last = region.getAttribute("data-html");
    if (last !== null) { return last === html; }
    var parsed = document.createElement("template");
    parsed.innerHTML = html;
    return squeezed(parsed.innerHTML) === squeezed(region.innerHTML);
  }

  function squeezed(html) { return html.replace(/\s+/g, " ").trim(); }

  function tick() {
    if (busy || document.hidden) { return; }
    busy = true;
    Promise.all(regions.map(refill)).catch(function () { /* server gone: try again */ })
      .then(function () { busy = false; });
  }

  window.setInterval(tick, PERIOD_MS);
})();
