/* Pathfinder dashboard: give the file input inside each upload area the label of its field
   (dcc.Upload puts the label's id on its outer element, not on the input). Served from the
   app itself, so the content security policy needs no inline script. */
(function () {
  function label() {
    document.querySelectorAll(".pf-upload").forEach(function (area) {
      var input = area.querySelector("input[type=file]");
      var holder = area.closest("[id]");
      var lab = holder && document.querySelector('label[for="' + holder.id + '"]');
      if (input && lab && !input.hasAttribute("aria-labelledby")) {
        if (!lab.id) { lab.id = holder.id + "-label"; }
        input.setAttribute("aria-labelledby", lab.id);
      }
    });
  }
  new MutationObserver(label).observe(document.documentElement, { childList: true, subtree: true });
})();

/* Clientside callbacks. settle: pass a value on to `target` once it has stayed unchanged for
   `ms` milliseconds (a debounce): the value-for-money page starts its uncertainty job once the
   user stops changing inputs, not for every value typed in turn. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  pathfinder: {
    settle: function (value, target, ms) {
      var timers = (window.pathfinderTimers = window.pathfinderTimers || {});
      clearTimeout(timers[target]);
      timers[target] = setTimeout(function () {
        window.dash_clientside.set_props(target, { data: value });
      }, ms);
      return window.dash_clientside.no_update;
    },
  },
});
