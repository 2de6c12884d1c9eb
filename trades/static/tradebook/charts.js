/* Draws the admin's charts with Plotly (served from our static files): every element with
   data-chart="ID" gets the spec in <script type="application/json" id="ID">. Buttons with
   data-show-chart swap a chart's spec (net PnL by day/week/month); data-tab buttons switch tabs. */
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

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(function (el) { draw(el, el.dataset.chart); });
    document.querySelectorAll("[data-show-chart]").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = document.getElementById(button.dataset.showChart);
        target.dataset.chart = button.dataset.spec;
        draw(target, button.dataset.spec);
        button.parentNode.querySelectorAll("button").forEach(function (b) { b.classList.toggle("tb-active", b === button); });
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
      });
    });
  });
})();
