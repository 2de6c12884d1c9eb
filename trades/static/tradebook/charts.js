/* Draws the admin's charts with Plotly (served from our static files): every element with
   data-chart="ID" gets the spec in <script type="application/json" id="ID">. Buttons with
   data-show-chart swap a chart's spec (net PnL by day/week/month); data-tab buttons switch tabs.
   A button with data-load fetches what it shows the first time it is pressed (a performance table,
   a chart's spec): the page does not compute the views nobody opens. */
(function () {
  "use strict";
  var CONFIG = {displaylogo: false, responsive: true,
                modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]};
  var SMALL = {displayModeBar: false, responsive: false};

  function spec(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function draw(el, id) {
    var s = spec(id);
    if (!s || !window.Plotly) { return; }
    var small = el.classList.contains("tb-chart-spark");
    window.Plotly.react(el, s.data, s.layout, small ? SMALL : CONFIG);
    el.dataset.drawn = "1";
  }

  function load(button) {
    /* Resolves once what the button shows is on the page. */
    if (!button.dataset.load || button.dataset.loaded) { return Promise.resolve(); }
    return fetch(button.dataset.load, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status + " " + r.statusText); } return r.json(); })
      .then(function (answer) {
        if (answer.html !== undefined) {
          document.getElementById(button.dataset.tab).innerHTML = answer.html;
        } else if (answer.spec !== undefined) {
          var node = document.createElement("script");
          node.type = "application/json";
          node.id = button.dataset.spec;
          node.textContent = JSON.stringify(answer.spec);
          document.body.appendChild(node);
        }
        button.dataset.loaded = "1";
      })
      .catch(function (error) {
        var where = button.dataset.tab ? document.getElementById(button.dataset.tab) : null;
        if (where) { where.innerHTML = ""; var p = document.createElement("p"); p.className = "tb-warn";
                     p.textContent = "Could not load: " + error.message; where.appendChild(p); }
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(function (el) { draw(el, el.dataset.chart); });
    document.querySelectorAll("[data-show-chart]").forEach(function (button) {
      button.addEventListener("click", function () {
        load(button).then(function () {
          var target = document.getElementById(button.dataset.showChart);
          target.dataset.chart = button.dataset.spec;
          draw(target, button.dataset.spec);
          button.parentNode.querySelectorAll("button").forEach(function (b) { b.classList.toggle("tb-active", b === button); });
        });
      });
    });
    document.querySelectorAll("[data-tab]").forEach(function (button) {
      button.addEventListener("click", function () {
        var bar = button.parentNode;
        bar.querySelectorAll("[data-tab]").forEach(function (b) {
          var on = b === button;
          b.classList.toggle("tb-active", on);
          b.setAttribute("aria-selected", on ? "true" : "false");
          document.getElementById(b.dataset.tab).hidden = !on;
        });
        load(button);
      });
    });
    // The first tab of each bar is open: load it now.
    document.querySelectorAll("[role=tablist]").forEach(function (bar) {
      var first = bar.querySelector("[data-tab]");
      if (first) { load(first); }
    });
  });
})();
